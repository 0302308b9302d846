"""Helpers for page tests: CSRF tokens from rendered forms, signing in, and a started sample project."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from engine.dto import DefinitionOut
from tests.conftest import TEST_PASSWORD, Auth

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Clerks of the sample process's departments, and the window clerk who starts projects.
PEOPLE = {"clerk.nrp": ("clerk", ("nrp",)), "clerk2.nrp": ("clerk", ("nrp",)), "clerk.hc": ("clerk", ("hc",)),
          "clerk.window": ("clerk", ("window",)), "leader.nrp": ("leader", ("nrp",)), "leader": ("leader", ()),
          "auditor": ("auditor", ()), "admin": ("admin", ()), "designer": ("designer", ()),
          "applicant": ("applicant", ()), "worker": ("worker", ())}
PROJECT = {"project_name": "呼和浩特新区综合楼", "project_code": "2026-150100-47-01-000123",
           "credit_code": "91150100MA0N123456", "applicant": {"name": "内蒙古示范建设有限公司",
                                                            "contact_phone": "13912345678",
                                                            "legal_id_card": "150102198001011234"}}


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> int:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return response.status_code


def make_people(auth: Auth) -> None:
    for name, (role, departments) in PEOPLE.items():
        auth.user(name, role, departments=departments)


def start_sample(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut], **variables: object) -> str:
    """Deploy sample_review and start one project as the window clerk; returns the instance id."""
    deploy("sample_review")
    headers = auth.headers("clerk.window", "clerk", departments=("window",))
    response = app.test_client().post("/api/process-definitions/key/sample_review/start", headers=headers,
                                      json={"variables": {**PROJECT, **variables}, "businessKey": "HH-2026-0001"})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def open_tasks(app: Flask, instance_id: str) -> dict[str, str]:
    from engine.services import human_tasks

    with app.extensions["engine"].sessions() as session:
        return {t.bpmn_id: t.id for t in human_tasks.list_tasks(session, instance_id=instance_id)}
