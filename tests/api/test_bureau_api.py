"""The bureau's routes: profiles submitted once and counted, applications checked against the profile and the
form, Chinese field messages as problem+json, the enforcement feed and the formal-document obligations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from engine.bureau.deps import BureauDeps
from engine.bureau.notices import MemorySender
from tests.bureau.support import credit_code, profile
from tests.conftest import Auth, engine_state


def _applicant(auth: Auth) -> dict[str, str]:
    return auth.headers("zhang.applicant", "applicant")


def test_a_profile_is_created_once_then_updated_and_counted(client: FlaskClient, auth: Auth) -> None:
    code = credit_code(31)
    first = client.post("/api/applicants", json=profile(code), headers=_applicant(auth))
    assert first.status_code == 201 and first.get_json()["submissions"] == 1
    again = client.post("/api/applicants", json=profile(code, address="呼和浩特市回民区新华西街8号"),
                        headers=_applicant(auth))
    assert again.status_code == 200
    assert (again.get_json()["submissions"], again.get_json()["changed"]) == (2, ["address"])
    read = client.get(f"/api/applicants/{code}", headers=auth.headers("li.window", "clerk", departments=["window"]))
    assert read.get_json()["address"] == "呼和浩特市回民区新华西街8号"
    assert client.get(f"/api/applicants/{code}", headers=_applicant(auth)).status_code == 403


def test_a_bad_profile_is_a_422_with_chinese_field_messages(client: FlaskClient, auth: Auth) -> None:
    code = credit_code(32)
    response = client.post("/api/applicants", json=profile(code[:17] + "Z"), headers=_applicant(auth))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert fields["credit_code"].startswith("统一社会信用代码：")
    missing = client.get(f"/api/applicants/{code}", headers=auth.headers("li.window", "clerk",
                                                                         departments=["window"]))
    assert missing.status_code == 404 and missing.get_json()["type"] == "/problems/applicant-not-found"


def test_an_application_needs_the_profile_first(client: FlaskClient, auth: Auth,
                                                deploy: Callable[..., Any]) -> None:
    deploy("commercial_project")
    code = credit_code(33)
    application = {"credit_code": code, "project_name": "赛罕区示范项目", "materials": ["CK-01-M1"],
                   "channel": "online"}
    refused = client.post("/api/applications/commercial_project", json=application, headers=_applicant(auth))
    assert refused.status_code == 404 and "尚未录入基本信息" in refused.get_json()["detail"]
    client.post("/api/applicants", json=profile(code), headers=_applicant(auth))
    bad = client.post("/api/applications/commercial_project", json={**application, "channel": "fax"},
                      headers=_applicant(auth))
    assert bad.status_code == 422
    assert {e["field"]: e["message"] for e in bad.get_json()["errors"]}["channel"].startswith("申报渠道：")
    started = client.post("/api/applications/commercial_project", json=application, headers=_applicant(auth))
    assert started.status_code == 201 and started.get_json()["process_key"] == "commercial_project"
    assert started.get_json()["started_by"] == "zhang.applicant"
    assert client.post("/api/applications/sample_review", json=application,
                       headers=_applicant(auth)).status_code == 422


def test_the_feed_and_the_obligations(app: Flask, client: FlaskClient, auth: Auth) -> None:
    state = engine_state(app)
    deps = BureauDeps(state.sessions, state.ctx, state.clock, sender=MemorySender())
    permit = deps.issue_permit(job_id="j1", permit_type="construction", title="建筑工程施工许可证", instance_id="",
                               credit_code=credit_code(34), project_code="P", project_name="N", by_commitment=False)
    deps.share(job_id="j2", action="issued", permit=permit, instance_id="")
    deemed = deps.record_deemed(job_id="j3", kind="deemed_approval", instance_id="", project_code="P",
                                subject="review_design_water", subject_name="设计方案审查：水务意见",
                                department="water", matter="SW-01", limit_wd=10)
    feed = client.get("/api/enforcement-feed?after=0", headers=auth.headers("bot", "worker")).get_json()["items"]
    assert [(e["seq"], e["action"], e["permit_number"]) for e in feed] == [(1, "issued", permit["number"])]
    assert client.get("/api/enforcement-feed?after=-1", headers=auth.headers("bot", "worker")).status_code == 422
    water = auth.headers("wang.water", "clerk", departments=["water"])
    owed = client.get("/api/obligations?department=water", headers=water).get_json()["items"]
    assert [o["id"] for o in owed] == [deemed["obligation_id"]]
    done = client.post(f"/api/obligations/{deemed['obligation_id']}/fulfil", json={"document_no": "呼水审〔2026〕3号"},
                       headers=water)
    assert done.status_code == 200 and done.get_json()["late"] is False
    twice = client.post(f"/api/obligations/{deemed['obligation_id']}/fulfil", json={"document_no": "x"},
                        headers=water)
    assert twice.status_code == 409
    assert client.get("/api/obligations", headers=water).get_json()["items"] == []
