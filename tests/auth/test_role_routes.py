"""Role × route: every API route and page is checked against every role (DESIGN.md §3.7).

- Every registered route has a rule in engine/auth/routes.py (a route without one is refused for everyone).
- Every role the rule does not allow gets 403 (anonymous: 401 on the API, a redirect to /login on pages),
  and all those refused requests together change nothing in the database.
- Every allowed role succeeds on the routes this issue owns, on objects in its scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.api.access import is_api_path
from engine.auth.roles import Role
from engine.auth.routes import Access, allowed
from engine.dto import DefinitionOut
from engine.models import HumanTask, InstanceEvent, ProcessInstance, TaskDraft, User
from engine.services import human_tasks, instances
from engine.services.commands import run_command
from tests.conftest import ROOT, Auth, engine_state
from tests.web.support import csrf_token, login

# One account per role; clerk and leader belong to nrp, the department of the sample's land and design reviews.
ACCOUNTS = {Role.DESIGNER: ("r.designer", ()), Role.CLERK: ("r.clerk", ("nrp",)), Role.LEADER: ("r.leader", ("nrp",)),
            Role.AUDITOR: ("r.auditor", ()), Role.ADMIN: ("r.admin", ()), Role.APPLICANT: ("r.applicant", ()),
            Role.WORKER: ("r.worker", ())}
REVIEW = {"decision": "approve", "opinion": "符合要求，同意。"}


@dataclass
class World:
    app: Flask
    auth: Auth
    definition_id: int
    api: dict[Role, dict[str, str]] = field(default_factory=dict)
    pages: dict[Role, FlaskClient] = field(default_factory=dict)

    def start(self, by: str = "r.window") -> str:
        state = engine_state(self.app)
        return run_command(state.sessions, lambda s: instances.start(
            s, state.ctx, "sample_review", {"project_name": "角色测试项目"}, actor=by, now=state.clock.now())).id

    def task(self, instance_id: str, bpmn_id: str = "review_land") -> str:
        with engine_state(self.app).sessions() as session:
            return next(t.id for t in human_tasks.list_tasks(session, instance_id=instance_id) if t.bpmn_id == bpmn_id)

    def claimed_task(self, by: str) -> str:
        task_id = self.task(self.start())
        state = engine_state(self.app)
        run_command(state.sessions, lambda s: human_tasks.claim(s, state.ctx, task_id, actor=by, now=state.clock.now()))
        return task_id


@pytest.fixture
def world(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut]) -> World:
    definition = deploy("sample_review")
    w = World(app, auth, definition.id)
    auth.user("r.window", "clerk", departments=("window",))
    auth.user("r.colleague", "clerk", departments=("nrp",))
    for role, (name, departments) in ACCOUNTS.items():
        w.api[role] = auth.headers(name, role.value, departments=departments)
        client = app.test_client()
        if role != Role.WORKER:  # service accounts have no password
            assert login(client, name) == 302
        w.pages[role] = client
    return w


def page_token(client: FlaskClient) -> str:
    """A CSRF token from any rendered page (the layout's sign-out form; /login when signed out)."""
    html = client.get("/dashboard").get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        html = client.get("/login").get_data(as_text=True)
    return csrf_token(html)


def fill(rule: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x-" + m.group(2), rule)


def routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method))
    return sorted(found)


def snapshot(app: Flask) -> tuple[Any, ...]:
    with engine_state(app).sessions() as s:
        return (s.scalar(select(func.count()).select_from(InstanceEvent)),
                sorted(s.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee)).all()),
                sorted(s.execute(select(ProcessInstance.id, ProcessInstance.status)).all()),
                s.scalar(select(func.count()).select_from(TaskDraft)),
                sorted(s.execute(select(User.username, User.failed_logins, User.disabled_at)).all()))


def test_every_registered_route_has_an_access_rule(app: Flask) -> None:
    missing = [(rule, method) for rule, method in routes(app) if allowed(rule, method) is None]
    assert missing == []


def test_roles_outside_a_rule_are_refused_and_nothing_changes(world: World) -> None:
    app = world.app
    world.start()
    anonymous = app.test_client()
    anonymous_token = page_token(anonymous)
    before = snapshot(app)
    checked = 0
    for rule, method in routes(app):
        rule_roles = allowed(rule, method)
        if rule_roles is Access.PUBLIC:
            continue
        url = fill(rule)
        api = is_api_path(url)  # /api, /engine-rest and /metrics answer 401/403, pages redirect to /login
        if api:
            response = anonymous.open(url, method=method, json={})
            assert response.status_code == 401, (method, rule, response.status_code)
        else:
            response = anonymous.open(url, method=method, data={"csrf_token": anonymous_token})
            assert response.status_code == 302 and response.location.startswith("/login"), (method, rule)
        if rule_roles is Access.SIGNED_IN:
            continue
        for role in Role:
            if role in rule_roles:
                continue
            if api:
                response = app.test_client().open(url, method=method, json={}, headers=world.api[role])
            elif role == Role.WORKER:
                continue  # a worker has no web session: it is anonymous there (checked above)
            else:
                client = world.pages[role]
                response = client.open(url, method=method, data={"csrf_token": page_token(client)})
            assert response.status_code == 403, (role.value, method, rule, response.status_code)
            checked += 1
    assert checked > 100
    assert snapshot(app) == before


Case = Callable[[World, Role], Any]


def _api(world: World, role: Role, method: str, url: str, **kwargs: Any) -> Any:
    return world.app.test_client().open(url, method=method, headers=world.api[role], **kwargs)


def _page(world: World, role: Role, method: str, url: str, data: dict[str, str] | None = None) -> Any:
    client = world.pages[role]
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**(data or {}), "csrf_token": page_token(client)})


def _own_instance(world: World, role: Role) -> str:
    """Applicants see their own projects; everyone else a window-started one with nrp tasks."""
    return world.start(by=ACCOUNTS[role][0]) if role == Role.APPLICANT else world.start()


def _deploy(world: World, role: Role) -> Any:
    path = ROOT / "processes" / "sample_review.bpmn"
    with path.open("rb") as fh:
        return _api(world, role, "POST", "/api/process-definitions", data={"file": (fh, path.name)},
                    content_type="multipart/form-data")


def _logout(world: World, role: Role) -> Any:
    """Signs out a second session of the role, so the shared one stays signed in for the other cases."""
    client = world.app.test_client()
    assert login(client, ACCOUNTS[role][0]) == 302
    return client.post("/logout", data={"csrf_token": page_token(client)})


CASES: dict[tuple[str, str], tuple[Case, tuple[int, ...]]] = {
    ("GET", "/api/process-definitions"): (lambda w, r: _api(w, r, "GET", "/api/process-definitions"), (200,)),
    ("GET", "/api/process-definitions/<int:definition_id>"): (
        lambda w, r: _api(w, r, "GET", f"/api/process-definitions/{w.definition_id}"), (200,)),
    ("GET", "/api/process-definitions/<int:definition_id>/diagram.svg"): (
        lambda w, r: _api(w, r, "GET", f"/api/process-definitions/{w.definition_id}/diagram.svg"), (200,)),
    ("GET", "/api/process-definitions/<int:definition_id>/xml"): (
        lambda w, r: _api(w, r, "GET", f"/api/process-definitions/{w.definition_id}/xml"), (200,)),
    ("GET", "/api/process-definitions/key/<key>/versions"): (
        lambda w, r: _api(w, r, "GET", "/api/process-definitions/key/sample_review/versions"), (200,)),
    ("GET", "/metrics"): (lambda w, r: _api(w, r, "GET", "/metrics"), (200,)),
    ("POST", "/api/process-definitions"): (_deploy, (200, 201)),
    ("POST", "/api/process-definitions/key/<key>/start"): (
        lambda w, r: _api(w, r, "POST", "/api/process-definitions/key/sample_review/start", json={}), (201,)),
    ("GET", "/api/process-instances"): (lambda w, r: _api(w, r, "GET", "/api/process-instances"), (200,)),
    ("GET", "/api/process-instances/<instance_id>"): (
        lambda w, r: _api(w, r, "GET", f"/api/process-instances/{_own_instance(w, r)}"), (200,)),
    ("GET", "/api/process-instances/<instance_id>/diagram.svg"): (
        lambda w, r: _api(w, r, "GET", f"/api/process-instances/{_own_instance(w, r)}/diagram.svg"), (200,)),
    ("GET", "/api/history/process-instances/<instance_id>/events"): (
        lambda w, r: _api(w, r, "GET", f"/api/history/process-instances/{_own_instance(w, r)}/events"), (200,)),
    ("POST", "/api/process-instances/<instance_id>/suspend"): (
        lambda w, r: _api(w, r, "POST", f"/api/process-instances/{w.start()}/suspend", json={"reason": "核查"}),
        (200,)),
    ("POST", "/api/process-instances/<instance_id>/resume"): (
        lambda w, r: _api(w, r, "POST", f"/api/process-instances/{_suspended(w)}/resume", json={"reason": "核查完毕"}),
        (200,)),
    ("POST", "/api/process-instances/<instance_id>/terminate"): (
        lambda w, r: _api(w, r, "POST", f"/api/process-instances/{w.start()}/terminate", json={"reason": "撤回"}),
        (200,)),
    ("GET", "/api/tasks"): (lambda w, r: _api(w, r, "GET", "/api/tasks"), (200,)),
    ("GET", "/api/tasks/<task_id>"): (lambda w, r: _api(w, r, "GET", f"/api/tasks/{w.task(w.start())}"), (200,)),
    ("POST", "/api/tasks/<task_id>/claim"): (
        lambda w, r: _api(w, r, "POST", f"/api/tasks/{w.task(w.start())}/claim"), (200,)),
    ("POST", "/api/tasks/<task_id>/unclaim"): (
        lambda w, r: _api(w, r, "POST", f"/api/tasks/{w.claimed_task(ACCOUNTS[r][0])}/unclaim"), (200,)),
    ("POST", "/api/tasks/<task_id>/complete"): (
        lambda w, r: _api(w, r, "POST", f"/api/tasks/{w.task(w.start())}/complete", json={"variables": REVIEW}),
        (200,)),
    ("POST", "/api/tasks/<task_id>/transfer"): (
        lambda w, r: _api(w, r, "POST", f"/api/tasks/{w.task(w.start())}/transfer",
                          json={"assignee": "r.colleague", "reason": "休假"}), (200,)),
    ("GET", "/inbox"): (lambda w, r: _page(w, r, "GET", "/inbox"), (200,)),
    ("GET", "/tasks/<task_id>"): (lambda w, r: _page(w, r, "GET", f"/tasks/{w.task(w.start())}"), (200,)),
    ("POST", "/tasks/<task_id>/claim"): (lambda w, r: _page(w, r, "POST", f"/tasks/{w.task(w.start())}/claim"), (302,)),
    ("POST", "/tasks/<task_id>/unclaim"): (
        lambda w, r: _page(w, r, "POST", f"/tasks/{w.claimed_task(ACCOUNTS[r][0])}/unclaim"), (302,)),
    ("POST", "/tasks/<task_id>/complete"): (
        lambda w, r: _page(w, r, "POST", f"/tasks/{w.task(w.start())}/complete", REVIEW), (302,)),
    ("POST", "/tasks/<task_id>/draft"): (
        lambda w, r: _page(w, r, "POST", f"/tasks/{w.task(w.start())}/draft", {"opinion": "初步意见"}), (302,)),
    ("POST", "/tasks/<task_id>/transfer"): (
        lambda w, r: _page(w, r, "POST", f"/tasks/{w.task(w.start())}/transfer",
                           {"assignee": "r.colleague", "reason": "休假"}), (302,)),
    ("GET", "/projects"): (lambda w, r: _page(w, r, "GET", "/projects"), (200,)),
    ("GET", "/projects/<instance_id>"): (lambda w, r: _page(w, r, "GET", f"/projects/{_own_instance(w, r)}"), (200,)),
    ("GET", "/projects/<instance_id>/diagram.svg"): (
        lambda w, r: _page(w, r, "GET", f"/projects/{_own_instance(w, r)}/diagram.svg"), (200,)),
    ("POST", "/projects/<instance_id>/suspend"): (
        lambda w, r: _page(w, r, "POST", f"/projects/{w.start()}/suspend", {"reason": "核查"}), (302,)),
    ("POST", "/projects/<instance_id>/resume"): (
        lambda w, r: _page(w, r, "POST", f"/projects/{_suspended(w)}/resume", {"reason": "核查完毕"}), (302,)),
    ("POST", "/projects/<instance_id>/terminate"): (
        lambda w, r: _page(w, r, "POST", f"/projects/{w.start()}/terminate", {"reason": "撤回"}), (302,)),
    ("GET", "/dashboard"): (lambda w, r: _page(w, r, "GET", "/dashboard"), (200,)),
    ("GET", "/definitions"): (lambda w, r: _page(w, r, "GET", "/definitions"), (200,)),
    ("GET", "/"): (lambda w, r: _page(w, r, "GET", "/"), (302,)),
    ("POST", "/logout"): (lambda w, r: _logout(w, r), (302,)),
}


def _suspended(world: World) -> str:
    instance_id = world.start()
    state = engine_state(world.app)
    run_command(state.sessions, lambda s: instances.set_suspended(s, state.ctx, instance_id, True, actor="r.admin",
                                                                  now=state.clock.now(), reason="核查"))
    return instance_id


def test_every_allowed_role_succeeds(world: World) -> None:
    """One world for all cases (sign-ins are slow on purpose); every failure is collected and reported."""
    failures = []
    for method, rule in sorted(CASES):
        case, statuses = CASES[(method, rule)]
        rule_roles = allowed(rule, method)
        roles = list(Role) if rule_roles is Access.SIGNED_IN else sorted(rule_roles)  # type: ignore[arg-type]
        for role in roles:
            if role == Role.WORKER and not rule.startswith("/api"):
                continue  # workers have no web session
            response = case(world, role)
            redirected_to_login = (response.status_code == 302 and response.location.startswith("/login")
                                   and rule != "/logout")
            if response.status_code not in statuses or redirected_to_login:
                failures.append((method, rule, role.value, response.status_code,
                                 response.get_data(as_text=True)[:200]))
    assert failures == []


def test_the_cases_cover_every_route_this_issue_owns(app: Flask) -> None:
    """Success cases exist for every route of the engine-core API and the clerk pages (other issues' route
    families are covered by the refusal test above and by their own tests)."""
    blueprints = {"definitions", "instances", "tasks", "history", "diagrams", "auth", "inbox", "task_pages",
                  "projects", "dashboard", "monitoring"}
    public = {"/api/health", "/login", "/lang/<code>", "/web-static/<path:filename>"}
    owned = {(method, rule.rule) for rule in app.url_map.iter_rules()
             if rule.endpoint.split(".")[0] in blueprints and rule.rule not in public
             for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert owned - set(CASES) == set()
