"""The auditor's pages (issue 10): timeline, diagram, replay step slider, verification and reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from lxml import etree, html

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.models import InstanceEvent
from engine.services import history
from tests.audit_support import APPROVE, complete
from tests.conftest import Auth, engine_state
from tests.web.support import login, make_people, start_sample


def _project(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut], clock: SimulatedClock) -> str:
    make_people(auth)
    instance_id = start_sample(app, auth, deploy)
    for bpmn_id in ("review_land", "review_design"):
        clock.advance(timedelta(hours=3))
        complete(app, instance_id, bpmn_id, APPROVE, actor="clerk.nrp")
    return instance_id


def _events(app: Flask, instance_id: str) -> list[InstanceEvent]:
    with engine_state(app).sessions() as session:
        return list(history.list_events(session, instance_id))


def test_timeline_diagram_and_replay_slider(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut],
                                            clock: SimulatedClock) -> None:
    instance_id = _project(app, auth, deploy, clock)
    client = app.test_client()
    assert login(client, "auditor") == 302
    page = client.get(f"/audit/instances/{instance_id}")
    assert page.status_code == 200
    doc = html.fromstring(page.get_data(as_text=True))
    events = _events(app, instance_id)
    assert len(doc.xpath("//table[contains(@class, 'timeline')]/tbody/tr")) == len(events)
    assert "回放校验通过" in page.get_data(as_text=True)
    slider = doc.xpath("//input[@type='range'][@name='until']")[0]
    assert slider.get("max") == str(len(events)) and slider.get("value") == str(len(events))
    assert doc.xpath(f"//img[@src='/audit/instances/{instance_id}/diagram.svg?until={len(events)}']")

    # Step back to just after the land review: the fire and design reviews were open then.
    cut = next(e.seq for e in events if e.kind == "task:completed")
    page = client.get(f"/audit/instances/{instance_id}?until={cut}")
    doc = html.fromstring(page.get_data(as_text=True))
    open_then = [td.text_content() for td in doc.xpath("(//div[@class='asof']//table)[1]/tbody/tr/td[1]")]
    assert any("设计方案审查" in t for t in open_then) and any("消防设计审查" in t for t in open_then)
    assert not any("用地审查" in t for t in open_then)
    assert len(doc.xpath("//table[contains(@class, 'timeline')]//tr[contains(@class, 'future')]")) == len(events) - cut
    assert doc.xpath(f"//tr[@id='e{cut}'][contains(@class, 'current')]")
    svg = client.get(f"/audit/instances/{instance_id}/diagram.svg?until={cut}")
    root = etree.fromstring(svg.data)
    states = {g.get("data-element-id"): g.get("data-state") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert states["review_land"] == "completed" and states["review_design"] == "active"
    gantt = client.get(f"/audit/instances/{instance_id}/gantt.svg")
    assert gantt.status_code == 200 and "消防设计审查" in gantt.get_data(as_text=True)
    csv_text = client.get(f"/audit/instances/{instance_id}/history.csv").get_data(as_text=True)
    assert csv_text.count("\n") == len(events) + 1


def test_verification_page_names_a_tampered_row(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut],
                                                clock: SimulatedClock) -> None:
    instance_id = _project(app, auth, deploy, clock)
    client = app.test_client()
    login(client, "auditor")
    assert "全部历史链校验通过" in client.get("/audit/verify").get_data(as_text=True)
    with engine_state(app).sessions.begin() as session:
        row = history.list_events(session, instance_id)[2]
        row.actor = "someone-else"
        seq = row.seq
    text = client.get("/audit/verify").get_data(as_text=True)
    assert "发现 1 条历史链被改动" in text and instance_id in text and f"<td class=\"num\">{seq}</td>" in text
    page = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    assert "回放结果与记录不一致" in page


def test_reports_pages_and_who_may_see_them(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut],
                                            clock: SimulatedClock) -> None:
    instance_id = _project(app, auth, deploy, clock)
    auditor = app.test_client()
    login(auditor, "auditor")
    index = auditor.get("/audit").get_data(as_text=True)
    assert "HH-2026-0001" in index and f"/audit/instances/{instance_id}" in index
    assert "问责报表" in auditor.get("/audit/reports/accountability").get_data(as_text=True)
    caps = auditor.get("/audit/reports/caps").get_data(as_text=True)
    assert "HH-2026-0001" in caps
    assert auditor.get("/audit/reports/caps.csv").get_data(as_text=True).lstrip("\ufeff").startswith("instance_id")
    with auditor.get("/audit/static/audit.css") as css:
        assert css.status_code == 200
    clerk = app.test_client()
    login(clerk, "clerk.nrp")
    assert clerk.get(f"/audit/instances/{instance_id}").status_code == 403
    assert clerk.get("/audit/verify").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/audit").status_code == 302


def test_every_auditor_page_string_has_english() -> None:
    import re
    from pathlib import Path

    from engine.web import audit
    from engine.web.catalog_en import EN

    templates = Path(audit.__file__).parent / "templates" / "audit"
    wrapped = set(audit.LABELS.values())
    for path in templates.glob("*.html"):
        wrapped |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])(.+?)\1""", path.read_text(encoding="utf-8"))}
    assert len(wrapped) > 40
    assert sorted(wrapped - set(EN)) == []
