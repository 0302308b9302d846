"""Page behaviour without a browser: sessions (idle timeout, sign-out everywhere), the language switch,
drafts, claiming, admin repairs with reasons, and safe redirects."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.auth import accounts
from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.models import HumanTask, InstanceEvent, ProcessInstance, TaskDraft
from engine.services import history
from engine.services.commands import run_command
from engine.web.catalog_en import EN
from engine.web.formatting import LIGHT_LABELS, STATUS_LABELS
from engine.web.projects import EVENT_LABELS
from tests.conftest import ROOT, Auth, engine_state
from tests.web.support import csrf_token, login, make_people, open_tasks, start_sample

WEB = ROOT / "engine" / "web"


def _post(client: FlaskClient, url: str, data: dict[str, str], token_page: str = "/inbox"):  # type: ignore
    token = csrf_token(client.get(token_page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_an_idle_session_times_out_on_the_injected_clock(client: FlaskClient, auth: Auth, app: Flask,
                                                         clock: SimulatedClock) -> None:
    make_people(auth)
    assert login(client, "clerk.nrp") == 302
    clock.advance(timedelta(minutes=29))
    assert client.get("/inbox").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=29))
    assert client.get("/inbox").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = client.get("/inbox")
    assert response.status_code == 302 and "expired=1" in response.location
    assert client.get("/inbox").location.startswith("/login")  # signed out for good
    with engine_state(app).sessions() as session:
        last = history.list_events(session, "system")[-1]
    assert (last.kind, last.payload["why"]) == ("auth:logout", "idle timeout")


def test_disabling_a_user_ends_their_open_sessions(client: FlaskClient, auth: Auth, app: Flask) -> None:
    make_people(auth)
    login(client, "clerk.nrp")
    assert client.get("/inbox").status_code == 200
    state = engine_state(app)
    run_command(state.sessions, lambda s: accounts.disable_user(s, state.ctx, "clerk.nrp", actor="admin",
                                                                now=state.clock.now(), reason="调岗"))
    assert client.get("/inbox").location.startswith("/login")


def test_english_switch_and_every_wrapped_string_has_english(client: FlaskClient, auth: Auth) -> None:
    wrapped = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        wrapped |= {m.group(2) for m in re.finditer(r"""_\(\s*(["'])(.+?)\1""", path.read_text(encoding="utf-8"))}
    labels = {*STATUS_LABELS.values(), *LIGHT_LABELS.values(), *EVENT_LABELS.values()}
    departments = set(re.findall(r'name = "([^"]+)"', (ROOT / "processes" / "departments.toml").read_text("utf-8")))
    assert len(wrapped) > 100
    assert sorted((wrapped | labels | departments) - set(EN)) == []
    make_people(auth)
    login(client, "clerk.nrp")
    assert "待办任务" in client.get("/inbox").get_data(as_text=True)
    client.get("/lang/en", headers={"Referer": "http://localhost/inbox"})
    page = client.get("/inbox").get_data(as_text=True)
    assert "Inbox" in page and "待办任务" not in page and 'lang="en"' in page


def test_a_draft_is_saved_recorded_and_prefills_the_form(client: FlaskClient, auth: Auth, app: Flask,
                                                         deploy: Callable[..., DefinitionOut]) -> None:
    make_people(auth)
    instance_id = start_sample(app, auth, deploy)
    task_id = open_tasks(app, instance_id)["review_land"]
    login(client, "clerk.nrp")
    response = _post(client, f"/tasks/{task_id}/draft", {"decision": "reject", "opinion": "用地性质待核实"},
                     f"/tasks/{task_id}")
    assert response.status_code == 302
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "用地性质待核实</textarea>" in page and '<option value="reject" selected>' in page
    with engine_state(app).sessions() as session:
        assert session.get(TaskDraft, task_id).data == {"decision": "reject", "opinion": "用地性质待核实"}
        assert session.get(HumanTask, task_id).status == "open"
        kinds = session.scalars(select(InstanceEvent.kind).where(InstanceEvent.chain == instance_id)).all()
    assert "task:draft_saved" in kinds


def test_claim_and_release_from_the_inbox(client: FlaskClient, auth: Auth, app: Flask,
                                          deploy: Callable[..., DefinitionOut]) -> None:
    make_people(auth)
    instance_id = start_sample(app, auth, deploy)
    task_id = open_tasks(app, instance_id)["review_land"]
    login(client, "clerk.nrp")
    assert _post(client, f"/tasks/{task_id}/claim", {"next": "/inbox?view=mine"}).location == "/inbox?view=mine"
    mine = client.get("/inbox?view=mine").get_data(as_text=True)
    assert "用地审查" in mine and "设计方案审查" not in mine
    other = app.test_client()
    login(other, "clerk2.nrp")
    assert "此任务由 clerk.nrp 办理中" in other.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert _post(other, f"/tasks/{task_id}/unclaim", {}).status_code == 403
    _post(client, f"/tasks/{task_id}/unclaim", {})
    with engine_state(app).sessions() as session:
        assert session.get(HumanTask, task_id).assignee is None


def test_admin_repairs_need_a_reason_which_goes_into_history(client: FlaskClient, auth: Auth, app: Flask,
                                                             deploy: Callable[..., DefinitionOut]) -> None:
    make_people(auth)
    instance_id = start_sample(app, auth, deploy)
    login(client, "admin")
    page = f"/projects/{instance_id}"
    _post(client, f"{page}/suspend", {"reason": " "}, page)
    with engine_state(app).sessions() as session:
        assert session.get(ProcessInstance, instance_id).status == "running"
    _post(client, f"{page}/suspend", {"reason": "申请人材料存疑，暂停核查"}, page)
    with engine_state(app).sessions() as session:
        assert session.get(ProcessInstance, instance_id).status == "suspended"
        event = history.list_events(session, instance_id)[-1]
    assert (event.kind, event.actor, event.payload["reason"]) == ("instance:suspended", "admin", "申请人材料存疑，暂停核查")


def test_sign_in_redirects_only_within_the_site(client: FlaskClient, auth: Auth) -> None:
    make_people(auth)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "clerk.nrp", "password": "Test-Passw0rd-9",
                                           "csrf_token": token, "next": "https://evil.example/phish"})
    assert response.location == "/"
    response = client.get("/inbox")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    cookie = next(c for c in client._cookies.values() if c.key == "approvals_session")  # noqa: SLF001
    assert cookie.http_only


def test_personal_numbers_are_masked_on_pages(client: FlaskClient, auth: Auth, app: Flask,
                                              deploy: Callable[..., DefinitionOut]) -> None:
    make_people(auth)
    instance_id = start_sample(app, auth, deploy, project_name="联系电话13912345678的项目")
    login(client, "clerk.nrp")
    page = client.get(f"/projects/{instance_id}").get_data(as_text=True)
    assert "139****5678" in page and "13912345678" not in page
    auditor = app.test_client()
    login(auditor, "auditor")
    assert "13912345678" in auditor.get(f"/projects/{instance_id}").get_data(as_text=True)
