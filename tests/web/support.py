"""Helpers for page tests: CSRF tokens from rendered forms, signing in, and a started sample project."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from tests.conftest import TEST_PASSWORD, Auth

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Clerks of the sample process's departments, and the window clerk who starts projects.
PEOPLE = {"clerk.nrp": ("clerk", ("nrp",), "王敏"), "clerk2.nrp": ("clerk", ("nrp",), "李娜"),
          "clerk.hc": ("clerk", ("hc",), "张伟"), "clerk.window": ("clerk", ("window",), "赵静"),
          "leader.nrp": ("leader", ("nrp",), "刘强"), "leader": ("leader", (), "陈局长"),
          "auditor": ("auditor", (), "孙审计"), "admin": ("admin", (), "周管理员"), "designer": ("designer", (), "吴设计"),
          "applicant": ("applicant", (), "内蒙古示范建设有限公司"), "worker": ("worker", (), "服务任务执行器")}
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
    for name, (role, departments, display_name) in PEOPLE.items():
        auth.user(name, role, departments=departments, display_name=display_name)


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


WEB_REVIEW = Path(__file__).resolve().parent.parent / "data" / "web" / "web_review.bpmn"
# Three projects accepted on different days, so the inbox shows green, yellow and red lights.
PROJECTS = [
    ("呼和浩特新区综合楼", "2026-150100-47-01-000123", "内蒙古示范建设有限公司", "91150100MA0N123456"),
    ("如意河畔安置住房二期", "2026-150100-70-01-000456", "呼和浩特城发置业有限公司", "91150100MA0P654321"),
    ("金桥开发区标准化厂房", "2026-150100-36-01-000789", "内蒙古金桥实业有限公司", "91150105MA0Q112233"),
]


def seed_projects(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut], clock: SimulatedClock
                  ) -> list[str]:
    """Deploy the web_review fixture and start PROJECTS on 2, 9 and 11 March 2026; the clock ends on 12 March
    (Shanghai), when the first project's fire review is overdue and its plan review is due soon."""
    deploy(WEB_REVIEW)
    headers = auth.headers("clerk.window", "clerk", departments=("window",))
    ids = []
    for (name, code, applicant, credit), day in zip(PROJECTS, (2, 9, 11), strict=True):
        clock.set(datetime(2026, 3, day, 1, 30, tzinfo=timezone.utc))
        variables = {"project_name": name, "project_code": code, "credit_code": credit,
                     "applicant": {"name": applicant, "contact_phone": "13912345678",
                                   "legal_id_card": "150102198001011234"}}
        response = app.test_client().post("/api/process-definitions/key/web_review/start", headers=headers,
                                          json={"variables": variables, "businessKey": code})
        assert response.status_code == 201, response.get_json()
        ids.append(str(response.get_json()["id"]))
    clock.set(datetime(2026, 3, 12, 2, 0, tzinfo=timezone.utc))
    return ids
