"""Accountability, caps and Gantt reports over synthetic projects driven through the services (issue 10)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from engine.calendar import SHANGHAI
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import EventKind, InstanceEvent
from engine.services import calendars, reports, timers
from engine.services.gantt import project_gantt
from tests.audit_support import cli_config, complete, run_cli, start
from tests.conftest import DATA, Auth, engine_state

DEPARTMENTS = {"window": "政务服务窗口", "nrp": "自然资源和规划局", "hc": "住房和城乡建设局"}


def _at(day: int, hour: int = 10) -> datetime:
    """March 2026, Shanghai time (2 March is a Monday)."""
    return datetime(2026, 3, day, hour, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)


@pytest.fixture
def projects(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock) -> dict[str, str]:
    """A: everything on time with a 3-day pause; B: land deemed (and recorded), fire silent past due; C: fire late;
    D: land deemed by its timer with no record event."""
    deploy(DATA / "bpmn" / "audit_stages.bpmn")
    state = engine_state(app)
    clock.set(_at(2))
    ids = {name: start(app, "audit_stages", {"cap_wd": 5} if name == "A" else {}, business_key=name)
           for name in "ABCD"}
    for instance_id in ids.values():
        complete(app, instance_id, "intake", {})
    clock.set(_at(2, 11))
    complete(app, ids["B"], "supplement", {})  # B's pause ends the same day: 0 working days
    complete(app, ids["C"], "supplement", {})
    complete(app, ids["D"], "supplement", {})
    complete(app, ids["D"], "review_fire", {})
    clock.set(_at(3))
    complete(app, ids["A"], "review_land", {})
    complete(app, ids["C"], "review_land", {})
    clock.set(_at(4))
    complete(app, ids["A"], "review_fire", {})
    clock.set(_at(5))
    complete(app, ids["A"], "supplement", {})  # A paused Monday -> Thursday: 3 working days
    clock.set(_at(6))
    complete(app, ids["A"], "permit", {})
    fired = timers.fire_due(state.sessions, state.ctx, clock.now())  # B's and D's land reviews: deemed Thursday
    assert len(fired.fired) == 2
    clock.set(_at(9))
    complete(app, ids["C"], "review_fire", {})  # due Thursday, done the next Monday: overdue
    clock.set(_at(10))
    return ids


def test_accountability_by_department_and_step(app: Flask, projects: dict[str, str], clock: SimulatedClock) -> None:
    with engine_state(app).sessions() as session:
        report = reports.accountability(session, now=clock.now(), departments=DEPARTMENTS)
        # Counted directly from the events: the deemed timers that fired, each also recorded by the engine.
        fired = session.scalars(select(InstanceEvent.chain).where(InstanceEvent.kind == EventKind.TIMER_FIRED,
                                                                  InstanceEvent.payload["bpmn_id"].as_string()
                                                                  == "deemed_land")).all()
        records = session.scalar(select(func.count()).where(InstanceEvent.kind == EventKind.TASK_DEEMED_APPROVED))
    rows = {(r.department, r.step): r for r in report.rows}
    fire, land = rows[("hc", "review_fire")], rows[("nrp", "review_land")]
    assert (fire.reviews, fire.on_time, fire.overdue, fire.deemed) == (4, 2, 2, 0)
    assert fire.projects == ["B", "C"] and fire.department_name == "住房和城乡建设局"
    assert (land.reviews, land.on_time, land.overdue, land.deemed) == (4, 2, 0, 2)
    assert land.projects == ["B", "D"] and land.step_name == "用地审查"
    assert sorted(fired) == sorted([projects["B"], projects["D"]]) and records == 2
    assert report.deemed == len(fired) == 2, "a recorded deemed approval and its timer are one approval"
    assert report.by_department()["hc"] == {"reviews": 4, "overdue": 2, "deemed": 0}
    assert [r.department for r in report.rows] == ["nrp", "hc"], "departments in departments.toml order"


def test_caps_working_days_pauses_and_stages(app: Flask, projects: dict[str, str], clock: SimulatedClock) -> None:
    state = engine_state(app)
    with state.sessions() as session:
        rows = {r.business_key: r for r in reports.caps(session, calendar=calendars.current(session, state.ctx),
                                                        now=clock.now())}
    a = rows["A"]
    assert a.status == "completed" and a.accepted_on == "2026-03-02" and a.cap_wd == 5
    # Monday -> Friday is 4 working days, of which Tuesday..Thursday were paused.
    assert (a.used_wd, a.paused_wd, a.remaining_wd, a.within_cap) == (1, 3, 4, True)
    assert [p.reason for p in a.pauses] == ["supplement"] and a.pauses[0].resumed_at is not None
    stages = {s.stage: s for s in a.stages}
    assert stages["stage_intake"].name == "受理阶段" and stages["stage_intake"].working_days == 0
    assert stages["stage_review"].ended_at is not None and stages["stage_review"].start_wd == 0
    c = rows["C"]
    assert c.status == "running" and c.cap_wd is None and c.within_cap is None
    assert c.used_wd == 6  # Monday 2 -> Tuesday 10 March, nothing paused
    assert {s.stage: s.ended_at for s in c.stages}["stage_review"] is not None


def test_gantt_is_svg_with_chinese_text(app: Flask, projects: dict[str, str], clock: SimulatedClock) -> None:
    state = engine_state(app)
    with state.sessions() as session:
        svg = project_gantt(session, projects["B"], calendar=calendars.current(session, state.ctx), now=clock.now())
    root = etree.fromstring(svg)
    texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for label in ("用地审查", "消防设计审查", "并联审查阶段", "超时默认同意", "超期"):
        assert label in texts, label
    with state.sessions() as session:  # D's deemed approval has no record event: its timer tells
        svg = project_gantt(session, projects["D"], calendar=calendars.current(session, state.ctx), now=clock.now())
    assert "超时默认同意" in svg.decode("utf-8")


def test_report_cli_formats(app: Flask, settings: Settings, projects: dict[str, str], tmp_path: Path) -> None:
    config = cli_config(settings, tmp_path)
    table = run_cli(config, "report", "accountability")
    assert table.exit_code == 0, table.output
    assert "住房和城乡建设局" in table.output and "超时默认同意 2" in table.output
    rows = list(csv.DictReader(io.StringIO(run_cli(config, "report", "accountability", "--format", "csv").output)))
    assert {(r["step"], r["deemed"], r["overdue"]) for r in rows} == {("review_land", "2", "0"),
                                                                       ("review_fire", "0", "2")}
    caps = json.loads(run_cli(config, "report", "caps", "--format", "json").output)
    assert {c["business_key"]: c["used_wd"] for c in caps}["A"] == 1
    caps_table = run_cli(config, "report", "caps", "--key", "audit_stages")
    assert "1/1 在上限内" in caps_table.output
    out = tmp_path / "b.svg"
    result = run_cli(config, "report", "gantt", projects["B"], "--out", str(out))
    assert result.exit_code == 0 and out.read_bytes().startswith(b"<?xml")
    missing = run_cli(config, "report", "gantt", "nope", "--out", str(out))
    assert missing.exit_code == 1 and "nope" in missing.output


def test_report_api(client: FlaskClient, auth: Auth, projects: dict[str, str]) -> None:
    auditor = auth.headers("audrey", "auditor")
    body = client.get("/api/reports/accountability", headers=auditor).get_json()
    assert body["deemed"] == 2 and body["overdue"] == 2
    text = client.get("/api/reports/caps?format=csv", headers=auditor)
    assert text.status_code == 200 and text.content_type.startswith("text/csv")
    assert text.get_data(as_text=True).lstrip("\ufeff").startswith("instance_id,")
    caps = client.get("/api/reports/caps?key=audit_stages", headers=auditor).get_json()["items"]
    assert len(caps) == 4
    chart = client.get(f"/api/reports/gantt/{projects['A']}.svg", headers=auditor)
    assert chart.status_code == 200 and chart.content_type.startswith("image/svg+xml")
    assert client.get("/api/reports/caps?format=xml", headers=auditor).status_code == 422
    clerk = auth.headers("li.nrp", "clerk", departments=["nrp"])
    assert client.get("/api/reports/accountability", headers=clerk).status_code == 403
    assert client.get("/api/reports/gantt/nope.svg", headers=auditor).status_code == 404
