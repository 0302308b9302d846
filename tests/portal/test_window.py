"""一窗受理: the window registers an in-person application for an enterprise (profile entered once), scans its
materials, submits it — the applicant's one trip — and decides completeness on its page; the enterprise later
follows the same application online. Only the window's clerks use these pages."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import Document, HumanTask, Notice, Trip
from tests.conftest import Auth
from tests.portal.support import (
    PROJECT,
    World,
    enterprise,
    pdf_bytes,
    register,
    text_of,
    token_of,
    window_clerk,
)
from tests.portal.test_portal_flow import materials, window_decide
from tests.web.support import login


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any]) -> World:
    deploy("commercial_project")
    return World(app)


@pytest.fixture
def window(app: Flask, auth: Auth) -> Any:
    window_clerk(auth)
    client = app.test_client()
    assert login(client, "clerk.window") == 302
    return client


def intake(app: Flask, window: Any, world: World, serial: int, *, missing: tuple[str, ...] = ()) -> str:
    """Profile, application, scans, submit: returns the application id."""
    profile = enterprise(serial)
    code = profile["credit_code"]
    assert "新单位：录入基本信息" in text_of(window.get(f"/window/enterprise?code={code}").get_data(as_text=True))
    response = window.post("/window/enterprise", data={**profile, "csrf_token": token_of(window, "/window")})
    assert response.status_code == 302
    response = window.post("/window/apply", data={**PROJECT, "credit_code": code,
                                                  "csrf_token": token_of(window, f"/window/apply?code={code}")})
    assert response.status_code == 302
    path = response.location
    data: dict[str, Any] = {"csrf_token": token_of(window, path)}
    data.update({f"file-{c}": (io.BytesIO(pdf_bytes(c)), f"扫描件-{c}.pdf") for c in materials(world) if c not in missing})
    assert window.post(f"{path}/files", data=data, content_type="multipart/form-data").status_code == 302
    assert window.post(f"{path}/submit", data={"csrf_token": token_of(window, path)}).status_code == 302
    world.settle()
    return path.rsplit("/", 1)[1]


def test_an_in_person_application_is_one_trip_and_the_enterprise_follows_it_online(
        app: Flask, window: Any, world: World) -> None:
    app_id = intake(app, window, world, 31)
    page = text_of(window.get(f"/window/applications/{app_id}").get_data(as_text=True))
    assert "材料按事项清单齐全" in page and "本申请到窗口 1 次" in page
    assert window_decide(window, app_id, decision="accept").status_code == 302
    world.settle()
    application = world.application(app_id)
    assert application.channel == "window" and application.created_by == "clerk.window"
    with world.state.sessions() as s:
        trips = s.scalars(select(Trip).where(Trip.application_id == app_id)).all()
        assert [(t.purpose, t.clerk) for t in trips] == [("intake", "clerk.window")]
        notice = s.scalars(select(Notice).where(Notice.instance_id == application.instance_id)).one()
        assert notice.kind == "acceptance"
        assert s.scalars(select(Document).where(Document.subject_id == notice.id)).one().verification_code
        decided = s.scalars(select(HumanTask).where(HumanTask.instance_id == application.instance_id,
                                                    HumanTask.bpmn_id == "completeness_decision")).one()
        assert (decided.status, decided.completed_by) == ("completed", "clerk.window")

    online = app.test_client()
    wrong_phone = register(online, 31, "came.later", contact_phone="13900000000")
    assert wrong_phone.status_code == 422 and "登记时留存的联系电话" in text_of(wrong_phone.get_data(as_text=True))
    assert register(online, 31, "came.later").status_code == 302  # the phone on file proves the claim
    portal = text_of(online.get(f"/portal/applications/{app_id}").get_data(as_text=True))
    assert "受理通知书" in portal and "本申请到窗口 1 次" in portal and "审批中" in portal
    assert online.get(f"/projects/{application.instance_id}").status_code == 200  # policy: the enterprise's own
    assert register(app.test_client(), 31, "second.account").status_code == 422  # one account per enterprise


def test_a_second_visit_is_recorded_as_another_trip(app: Flask, window: Any, world: World) -> None:
    app_id = intake(app, window, world, 32, missing=("CK-01-M2",))
    window_decide(window, app_id, decision="correct", corrections="补交项目总平面示意图（CK-01-M2）")
    world.settle()
    instance_id = world.application(app_id).instance_id
    task_id = world.tasks(instance_id)["correction"].id
    page = window.get(f"/window/applications/{app_id}").get_data(as_text=True)
    assert "申请人当面办理：补正材料" in text_of(page)
    response = window.post(f"/window/applications/{app_id}/steps/{task_id}", data={
        "csrf_token": token_of(window, f"/window/applications/{app_id}"),
        "file-CK-01-M2": (io.BytesIO(pdf_bytes("plan")), "总平面图扫描件.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    world.settle()
    assert "completeness_decision" in world.tasks(instance_id)
    page = text_of(window.get(f"/window/applications/{app_id}").get_data(as_text=True))
    assert "本申请到窗口 2 次 超过一次" in page


def test_gaps_are_accepted_only_for_what_the_applicant_committed_to(app: Flask, window: Any, world: World) -> None:
    app_id = intake(app, window, world, 33, missing=("ZRZY-02-M3",))
    response = window_decide(window, app_id, decision="accept_with_gaps", missing_secondary="ZRZY-02-M3",
                             rongque_due_wd="5")
    assert response.status_code == 422
    assert "不在申请人签署的容缺受理承诺书中" in text_of(response.get_data(as_text=True))
    assert "completeness_decision" in world.tasks(world.application(app_id).instance_id)


def test_only_window_clerks_use_the_window(app: Flask, auth: Auth) -> None:
    auth.user("clerk.nrp", "clerk", departments=("nrp",))
    other = app.test_client()
    assert login(other, "clerk.nrp") == 302
    assert other.get("/window").status_code == 403
    applicant = app.test_client()
    assert register(applicant, 34, "not.a.clerk").status_code == 302
    assert applicant.get("/window").status_code == 403
