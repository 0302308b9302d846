"""The bureau's records through `BureauDeps` (what the workers call), on the app's database: numbered notices
and their sender, permits and revocation, the enforcement feed, credit, deemed approvals with the 1-WD
formal-document obligation, escalations — every one idempotent by job id."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.bureau import accountability, enforcement, notices
from engine.bureau.deps import BureauDeps
from engine.bureau.errors import ObligationFulfilled
from engine.bureau.notices import MemorySender
from engine.calendar import SHANGHAI
from engine.clock import SimulatedClock
from engine.errors import Conflict, InvalidInput
from engine.models import Notice, Permit
from engine.services.commands import run_command
from tests.bureau.support import credit_code
from tests.conftest import engine_state

CODE = credit_code(7)


class BrokenSender:
    def send(self, message: dict[str, Any]) -> None:
        raise ConnectionError("SMS gateway down")


def deps(app: Flask, sender: object | None = None, documents: Path | None = None) -> BureauDeps:
    state = engine_state(app)
    return BureauDeps(state.sessions, state.ctx, state.clock, sender=sender or MemorySender(),  # type: ignore
                      documents_dir=documents)


def notice(d: BureauDeps, job: str, kind: str = "acceptance", **details: Any) -> dict[str, Any]:
    return d.send_notice(job_id=job, kind=kind, credit_code=CODE, project_code="2026-150100-47-03-000001",
                         project_name="示范项目", instance_id="", details=details)


def test_notices_are_numbered_per_kind_and_year_and_sent_once(app: Flask) -> None:
    sender = MemorySender()
    d = deps(app, sender)
    first, second = notice(d, "job-1"), notice(d, "job-2")
    correction = notice(d, "job-3", "correction", corrections=["补充宗地红线图", "出让合同加盖公章"])
    assert (first["number"], second["number"]) == ("呼审受〔2026〕000001号", "呼审受〔2026〕000002号")
    assert correction["number"] == "呼审补〔2026〕000001号" and correction["status"] == "sent"
    assert notice(d, "job-1") == first  # the same job again: the same notice, not sent twice
    assert [m["number"] for m in sender.sent] == ["呼审受〔2026〕000001号", "呼审受〔2026〕000002号",
                                                  "呼审补〔2026〕000001号"]
    assert "（1）补充宗地红线图；（2）出让合同加盖公章" in sender.sent[2]["body"]


def test_a_failing_sender_leaves_the_notice_for_dispatch(app: Flask) -> None:
    out = notice(deps(app, BrokenSender()), "job-1", "refusal")
    assert out["status"] == "failed"
    with engine_state(app).sessions() as s:
        waiting = notices.undelivered(s)
        assert [(n.number, n.last_error) for n in waiting] == [("呼审不许〔2026〕000001号",
                                                              "ConnectionError: SMS gateway down")]
    retried = notice(deps(app, MemorySender()), "job-1", "refusal")  # the job runs again: delivered now
    assert retried["status"] == "sent"


def test_an_unknown_notice_kind_is_refused(app: Flask) -> None:
    with pytest.raises(InvalidInput):
        notice(deps(app), "job-1", "thank_you")
    with engine_state(app).sessions() as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0


def test_permits_are_numbered_documented_revoked_and_shared(app: Flask, tmp_path: Path) -> None:
    d = deps(app, documents=tmp_path / "docs")
    issue: dict[str, Any] = {"permit_type": "construction", "title": "建筑工程施工许可证", "instance_id": "",
                             "credit_code": CODE, "project_code": "2026-150100-47-03-000001",
                             "project_name": "示范项目", "by_commitment": True}
    permit = d.issue_permit(job_id="job-1", **issue)
    assert permit["number"] == "150100" + "20260302" + "0001"  # division code + Shanghai issue date + serial
    assert d.issue_permit(job_id="job-1", **issue) == permit
    assert d.issue_permit(job_id="job-2", **issue)["number"].endswith("02")
    land = d.issue_permit(job_id="job-3", **{**issue, "permit_type": "land_use", "title": "建设用地规划许可证"})
    assert land["number"] == "地字第150100202600001号"
    pdf = tmp_path / "docs"
    assert len(list(pdf.glob("*.pdf"))) == 3 and all(p.read_bytes().startswith(b"%PDF") for p in pdf.glob("*.pdf"))

    revoked = d.revoke_permit(job_id="job-4", number=permit["number"], reason="资金未落实")
    assert revoked["revocation_number"] == "呼审撤销〔2026〕000001号"
    assert d.revoke_permit(job_id="job-4", number=permit["number"], reason="资金未落实") == revoked
    with pytest.raises(Conflict):
        d.revoke_permit(job_id="job-5", number=permit["number"], reason="again")

    d.share(job_id="job-6", action="issued", permit=permit, instance_id="")
    d.share(job_id="job-7", action="revoked", permit=revoked, instance_id="")
    d.share(job_id="job-6", action="issued", permit=permit, instance_id="")
    with engine_state(app).sessions() as s:
        feed = enforcement.feed(s)
        assert [(e["seq"], e["action"], e["permit_number"]) for e in feed] == [
            (1, "issued", permit["number"]), (2, "revoked", permit["number"])]
        assert feed[0]["recipients"] == ["construction_safety", "urban_enforcement"]
        assert enforcement.feed(s, after=1)[0]["action"] == "revoked"
        assert s.scalar(select(Permit.revocation_reason).where(Permit.number == permit["number"])) == "资金未落实"


def test_a_deemed_approval_obliges_the_formal_document_by_the_end_of_the_next_working_day(
        app: Flask, clock: SimulatedClock) -> None:
    clock.set(datetime(2026, 4, 3, 16, 0, tzinfo=SHANGHAI))  # Friday before Qingming (4/4–4/6 off)
    d = deps(app)
    args: dict[str, Any] = {"kind": "deemed_approval", "instance_id": "", "project_code": "P",
                            "subject": "review_design_water", "subject_name": "设计方案审查：水务意见",
                            "department": "water", "matter": "SW-01", "limit_wd": 10}
    first = d.record_deemed(job_id="job-1", **args)
    due = datetime.fromisoformat(first["formal_document_due"])
    assert due == datetime(2026, 4, 7, 23, 59, 59, tzinfo=SHANGHAI)  # Tuesday: the next working day
    assert d.record_deemed(job_id="job-1", **args) == first
    acceptance = d.record_deemed(job_id="job-2", **{**args, "kind": "deemed_acceptance", "department": "window"})
    assert acceptance["obligation_id"] is None  # the window owes no formal document
    state = engine_state(app)
    row = run_command(state.sessions, lambda s: accountability.fulfil(
        s, first["obligation_id"], document_no="呼水审〔2026〕12号", actor="clerk.water", now=clock.now()))
    assert row.fulfilled_by == "clerk.water"
    with pytest.raises(ObligationFulfilled):
        run_command(state.sessions, lambda s: accountability.fulfil(
            s, first["obligation_id"], document_no="x", actor="clerk.water", now=clock.now()))
    with state.sessions() as s:
        assert accountability.obligations(s) == []


def test_escalations_and_credit(app: Flask, clock: SimulatedClock) -> None:
    d = deps(app)
    raised = d.escalate(job_id="job-1", instance_id="", project_code="P", level="review", subject="review_fire",
                        department="hc", title="消防设计审查超过承诺时限5个工作日", limit_wd=5)
    assert d.escalate(job_id="job-1", instance_id="", project_code="P", level="review", subject="review_fire",
                      department="hc", title="x", limit_wd=5) == raised
    with pytest.raises(InvalidInput):
        d.escalate(job_id="job-2", instance_id="", project_code="P", level="mayor", subject="s", department="hc",
                   title="t", limit_wd=1)
    assert d.credit_status(CODE) == {"credit_code": CODE, "blacklisted": False, "may_commit": True, "records": []}
    d.record_credit(job_id="job-3", credit_code=CODE, kind="false_commitment", reason="资金未落实",
                    instance_id="", project_code="P")
    status = d.credit_status(CODE)
    assert (status["blacklisted"], status["may_commit"], len(status["records"])) == (False, False, 1)
    clock.advance(timedelta(days=1))
    d.record_credit(job_id="job-3", credit_code=CODE, kind="false_commitment", reason="资金未落实",
                    instance_id="", project_code="P")
    assert len(d.credit_status(CODE)["records"]) == 1


def test_project_codes_are_sequential_per_year_and_stable_per_job(app: Flask) -> None:
    d = deps(app)
    args = {"instance_id": "", "credit_code": CODE, "name": "示范项目", "process_key": "commercial_project"}
    assert d.register_project(job_id="j1", kind="commercial", **args) == "2026-150100-47-03-000001"
    assert d.register_project(job_id="j2", kind="government", **args) == "2026-150100-47-01-000002"
    assert d.register_project(job_id="j1", kind="commercial", **args) == "2026-150100-47-03-000001"
