"""Authorization campaign (DESIGN.md §3.7): every route that takes a task or a project — /api, /engine-rest and the
pages, every method — called on a real task and a real project by callers whose role the route table allows but
whose scope does not cover them: a clerk and a leader of another department, another enterprise's applicant.
Every call is refused (never a 2xx with data, never a change); the same calls by the clerk in scope succeed for
reading, so the refusals come from scoping, not from a broken route. Then credentials that must not work: revoked,
expired, disabled, tampered, or sent the wrong way."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.auth.routes import Access, allowed
from engine.dto import DefinitionOut
from engine.services.commands import run_command
from tests.conftest import Auth, engine_state
from tests.reliability.hostile import Tally, unchanged
from tests.web.support import csrf_token, login

REVIEW = {"decision": "approve", "opinion": "越权尝试"}
OUTSIDERS = {"clerk.eco": ("clerk", ("eco",)), "leader.eco": ("leader", ("eco",)), "applicant.other": ("applicant", ())}
INSIDER = ("clerk.nrp", "clerk", ("nrp",))
SCOPED = re.compile(r"<(?:\w+:)?(task_id|instance_id)>")


@pytest.fixture
def world(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut]) -> dict[str, Any]:
    deploy("sample_review")
    window = auth.headers("clerk.window", "clerk", departments=["window"])
    client = app.test_client()
    instance_id = client.post("/api/process-definitions/key/sample_review/start", headers=window,
                              json={"variables": {"project_name": "越权测试项目"}}).get_json()["id"]
    tasks = client.get(f"/api/tasks?processInstanceId={instance_id}",
                       headers=auth.headers("auditor", "auditor")).get_json()["items"]
    task_id = next(t["id"] for t in tasks if t["bpmn_id"] == "review_land")  # department nrp
    people = {**OUTSIDERS, INSIDER[0]: INSIDER[1:]}
    headers = {name: auth.headers(name, role, departments=list(departments))
               for name, (role, departments) in people.items()}
    pages = {}
    for name in people:
        page = app.test_client()
        assert login(page, name) == 302
        pages[name] = page
    return {"instance_id": instance_id, "task_id": task_id, "headers": headers, "pages": pages}


def _scoped_routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if SCOPED.search(rule.rule) and not re.search(r"<(?:\w+:)?(?!task_id|instance_id)\w+>", rule.rule):
            found += [(rule.rule, m) for m in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    return sorted(found)


def _url(rule: str, world: dict[str, Any]) -> str:
    return rule.replace("<task_id>", world["task_id"]).replace("<instance_id>", world["instance_id"])


def _page_token(client: FlaskClient) -> str:
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    return csrf_token(html)


def _body(rule: str) -> dict[str, Any]:
    if rule.endswith("/complete"):
        return {"variables": REVIEW} if not rule.startswith("/engine-rest") else {
            "variables": {k: {"value": v} for k, v in REVIEW.items()}}
    if rule.endswith("/transfer"):
        return {"assignee": "clerk.eco", "reason": "越权"}
    if rule.endswith(("/suspend", "/resume", "/terminate")):
        return {"reason": "越权"}
    return {}


def test_callers_outside_the_scope_are_refused_on_every_task_and_project_route(
        app: Flask, world: dict[str, Any]) -> None:
    tally = Tally("authorization-scope")
    routes = _scoped_routes(app)
    assert len(routes) > 20, routes  # the campaign must see the routes it is about
    with unchanged(app):
        for rule, method in routes:
            roles = allowed(rule, method)
            url = _url(rule, world)
            api = rule.startswith(("/api", "/engine-rest"))
            for name in OUTSIDERS:
                if api:
                    response = app.test_client().open(url, method=method, json=_body(rule),
                                                      headers=world["headers"][name])
                    assert response.status_code in (401, 403, 404), (name, method, rule, response.status_code)
                else:
                    page = world["pages"][name]
                    data = {"csrf_token": _page_token(page), **{k: v for k, v in REVIEW.items()}} \
                        if method == "POST" else None
                    response = page.open(url, method=method, data=data)
                    if method == "GET":
                        assert response.status_code in (302, 403, 404), (name, method, rule, response.status_code)
                        assert world["instance_id"] not in response.get_data(as_text=True) or \
                            response.status_code != 200
                    else:
                        assert response.status_code in (302, 400, 403, 404), (name, rule, response.status_code)
                tally.count("api" if api else "page")
            if roles is not Access.PUBLIC and method == "GET" and api and "clerk" in str(roles):
                insider = app.test_client().get(url, headers=world["headers"][INSIDER[0]])
                assert insider.status_code == 200, (rule, insider.status_code)  # the route works in scope
    tally.write()


def test_credentials_that_must_not_work_do_not(app: Flask, auth: Auth, world: dict[str, Any]) -> None:
    from engine.auth import accounts, tokens

    state = engine_state(app)
    url = f"/api/tasks/{world['task_id']}"
    good = auth.token("clerk.doomed", "clerk", departments=["nrp"])
    assert app.test_client().get(url, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    tally = Tally("authorization-credentials")

    def refused(headers: dict[str, str], path: str = url) -> None:
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401, (headers, response.status_code)
        tally.count("credential")

    with unchanged(app):
        for header in (f"Bearer {good[:-1]}x", f"Bearer {good}x", "Bearer apr_", "Bearer " + "a" * 5000,
                       f"bearer{good}", f"Token {good}", f"Basic {good}", "Bearer ' OR '1'='1",
                       f"Bearer {good.upper()}", "Bearer \u202eapr_x"):
            refused({"Authorization": header})
        refused({"X-Actor": "admin"})  # the development identity is off
    # A wrong password is refused too, and (unlike the above) recorded: it counts towards the lock-out.
    failures = len(_events(app, "auth:login_failed"))
    refused({"Authorization": "Basic Y2xlcmsubnJwOndyb25n"}, "/engine-rest/task")  # clerk.nrp:wrong
    assert len(_events(app, "auth:login_failed")) == failures + 1
    with state.sessions() as session:
        token_id = next(t.id for t, name in tokens.list_tokens(session, "clerk.doomed"))
    run_command(state.sessions, lambda s: tokens.revoke(s, state.ctx, token_id, actor="admin",
                                                        now=state.clock.now()))
    refused({"Authorization": f"Bearer {good}"})
    expiring = auth.token("clerk.expiring", "clerk", departments=["nrp"])
    state.clock.advance(timedelta(days=31))  # the test tokens last 30 days
    refused({"Authorization": f"Bearer {expiring}"})
    disabled = auth.token("clerk.disabled", "clerk", departments=["nrp"])
    run_command(state.sessions, lambda s: accounts.disable_user(s, state.ctx, "clerk.disabled", actor="admin",
                                                                now=state.clock.now(), reason="离职"))
    refused({"Authorization": f"Bearer {disabled}"})
    tally.write()


def _events(app: Flask, kind: str) -> list[Any]:
    from sqlalchemy import select

    from engine.models import InstanceEvent

    with engine_state(app).sessions() as session:
        return list(session.scalars(select(InstanceEvent).where(InstanceEvent.kind == kind)))
