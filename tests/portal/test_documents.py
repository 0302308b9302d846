"""Notices and permits as PDFs made by the worker that issues them: numbered, naming the project, applicant and
decisions, with a verification code the public /verify page checks (valid, revoked, unknown); made once per
record even if the job runs again, and never left on disk by a transaction that rolls back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.bureau import notices, permits
from engine.models import Document, Notice, Permit
from tests.conftest import Auth
from tests.portal.support import World, enterprise, pdf_strings, submit_online, text_of, window_clerk
from tests.portal.test_portal_flow import window_decide
from tests.web.support import login


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any]) -> World:
    deploy("commercial_project")
    return World(app)


def docstore(world: World) -> list[Path]:
    root = world.state.settings.path(world.state.settings.paths.var) / "docstore"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_correction_notice_lists_the_items_and_verifies(app: Flask, auth: Auth, world: World) -> None:
    client, path = submit_online(app, world, 51, "corrected", missing=("CK-01-M2",))
    window_clerk(auth)
    window = app.test_client()
    login(window, "clerk.window")
    window_decide(window, path.rsplit("/", 1)[1], decision="correct", corrections="补交项目总平面示意图（CK-01-M2）")
    world.settle()
    with world.state.sessions() as s:
        notice = s.scalars(select(Notice)).one()
        doc = s.scalars(select(Document).where(Document.subject_id == notice.id)).one()
    assert (doc.purpose, doc.subject_kind, doc.channel, doc.credit_code) == ("notice", "notice", "system",
                                                                             enterprise(51)["credit_code"])
    pdf = client.get(f"/documents/{doc.id}")
    text = pdf_strings(pdf.data)
    for expected in (notice.title, notice.number, enterprise(51)["name"], "补交项目总平面示意图（CK-01-M2）",
                     doc.verification_code, f"/verify/{doc.verification_code}", "敕勒川商业综合体"):
        assert expected in text, expected
    page = text_of(app.test_client().get(f"/verify/{doc.verification_code.lower()}", follow_redirects=True)
                   .get_data(as_text=True))
    assert "真实有效" in page and notice.number in page and doc.sha256 in page


def test_a_job_run_twice_makes_one_document_and_a_rollback_leaves_no_bytes(app: Flask, world: World) -> None:
    submit_online(app, world, 52, "twice")
    code = enterprise(52)["credit_code"]
    args = {"job_id": "job-fixed", "kind": "acceptance", "credit_code": code, "project_code": "P-1",
            "project_name": "敕勒川商业综合体", "instance_id": "", "details": {}}
    first = world.deps.send_notice(**args)
    second = world.deps.send_notice(**args)
    assert first["number"] == second["number"]
    with world.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document).where(Document.subject_kind == "notice")) == 1
    before = set(docstore(world))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), world.state.sessions.begin() as s:
        row = notices.create(s, job_id="job-doomed", kind="acceptance", credit_code=code, project_code="P-2",
                             project_name="x", instance_id=None, details={}, now=world.state.clock.now())
        world.publisher.notice(s, row)
        assert len(docstore(world)) == len(before) + 1
        raise Boom
    assert set(docstore(world)) == before


def test_a_revoked_permit_and_an_unknown_code_are_said_so(app: Flask, world: World) -> None:
    submit_online(app, world, 53, "revoked")
    code = enterprise(53)["credit_code"]
    issued = world.deps.issue_permit(job_id="job-permit", permit_type="construction", title="建筑工程施工许可证",
                                     instance_id="", credit_code=code, project_code="P-3", project_name="示范项目",
                                     by_commitment=True)
    with world.state.sessions() as s:
        permit = s.scalars(select(Permit).where(Permit.number == issued["number"])).one()
        doc = s.scalars(select(Document).where(Document.subject_id == permit.id)).one()
    visitor = app.test_client()
    page = text_of(visitor.get(f"/verify/{doc.verification_code}").get_data(as_text=True))
    assert "当前有效" in page and "告知承诺制" in page
    with world.state.sessions.begin() as s:
        permits.revoke(s, job_id="job-revoke", number=issued["number"], reason="承诺不实",
                       now=datetime(2026, 9, 1, 2, tzinfo=UTC))
    page = text_of(visitor.get(f"/verify/{doc.verification_code}").get_data(as_text=True))
    assert "该证照已被撤销" in page and "呼审撤销〔2026〕000001号" in page and "当前有效" not in page
    missing = visitor.get("/verify/7K3Q-M9TX-2D4F-HW8R")
    assert missing.status_code == 404 and "未找到该验证码对应的文书" in text_of(missing.get_data(as_text=True))
    typo = visitor.get("/verify?code=7K3Q-M9TX")
    assert typo.status_code == 400 and "验证码格式不正确" in text_of(typo.get_data(as_text=True))
    assert visitor.get(f"/verify?code={doc.verification_code.replace('-', ' ')}").status_code == 302
