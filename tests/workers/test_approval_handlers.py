"""The approval-process handlers called as plain functions with a fake JobContext and a fake bureau (what
`ctx.deps` gives them in the engine): inputs, outputs, idempotency keys, clear failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.bpmn.parsing import load_process
from engine.sdk import JobContext
from tests.conftest import ROOT
from workers import ROUTERS, applications, catalog, certificates, credit, enforcement, notices, reviews


class FakeBureau:
    """Records every call; answers like the real one would for a tiny world."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.profiles = {"91110000710925462X": {"credit_code": "91110000710925462X", "name": "示范公司"}}

    def _call(self, method: str, /, **kwargs: Any) -> None:
        self.calls.append((method, kwargs))

    def now(self) -> datetime:
        return datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def register_project(self, **kw: Any) -> str:
        self._call("register_project", **kw)
        return "2026-150100-47-03-000009"

    def profile(self, credit_code: str) -> dict[str, Any] | None:
        return self.profiles.get(credit_code)

    def credit_status(self, credit_code: str) -> dict[str, Any]:
        return {"credit_code": credit_code, "blacklisted": credit_code.endswith("X"), "may_commit": False,
                "records": []}

    def record_credit(self, **kw: Any) -> dict[str, Any]:
        self._call("record_credit", **kw)
        return {"id": "c1", "kind": kw["kind"]}

    def check_materials(self, process: str, materials: list[str], covered: list[str]) -> dict[str, Any]:
        self._call("check_materials", process=process, materials=materials, covered=covered)
        return {"complete": bool(materials), "rongque_eligible": False}

    def zone_coverage(self, zone_id: str, industry: str) -> dict[str, Any]:
        return {"zone_id": zone_id, "covers": ["eia"] if zone_id else []}

    def send_notice(self, **kw: Any) -> dict[str, Any]:
        self._call("send_notice", **kw)
        return {"number": "呼审受〔2026〕000001号", "status": "sent"}

    def issue_permit(self, **kw: Any) -> dict[str, Any]:
        self._call("issue_permit", **kw)
        return {"number": "150100202603020001", "permit_type": kw["permit_type"]}

    def revoke_permit(self, **kw: Any) -> dict[str, Any]:
        self._call("revoke_permit", **kw)
        return {"number": kw["number"], "revocation_number": "呼审撤销〔2026〕000001号"}

    def share(self, **kw: Any) -> dict[str, Any]:
        self._call("share", **kw)
        return {"seq": 1}

    def record_deemed(self, **kw: Any) -> dict[str, Any]:
        self._call("record_deemed", **kw)
        due = "2026-03-03T15:59:59+00:00" if kw["kind"] == "deemed_approval" else None
        return {"record_id": "r1", "occurred_at": "2026-03-02T01:00:00+00:00",
                "obligation_id": "o1" if due else None, "formal_document_due": due}

    def escalate(self, **kw: Any) -> dict[str, Any]:
        self._call("escalate", **kw)
        return {"id": "e1", "level": kw["level"]}


def ctx(bureau: FakeBureau | None, topic: str = "t.t") -> JobContext:
    return JobContext(job_id="job-42", topic=topic, instance_id="inst-1", bpmn_id="x", deps=bureau)


APPLICATION = {"credit_code": "91110000710925462X", "project_name": "示范项目", "process_key": "commercial_project",
               "process_kind": "commercial", "cap_wd_default": 67}


def test_register_gives_a_project_code_and_fills_in_the_defaults() -> None:
    bureau = FakeBureau()
    out = applications.register(ctx(bureau), **APPLICATION, materials=["CK-01-M1"], cap_wd=None)
    assert out == {"project_code": "2026-150100-47-03-000009", "cap_wd": 67, "zone_id": "", "industry": "",
                   "materials": ["CK-01-M1"], "channel": "online", "consultation_requested": False,
                   "commitment_requested": False}
    assert bureau.calls == [("register_project", {"job_id": "job-42", "instance_id": "inst-1",
                                                  "credit_code": "91110000710925462X", "name": "示范项目",
                                                  "process_key": "commercial_project", "kind": "commercial"})]
    assert applications.register(ctx(bureau), **APPLICATION, cap_wd=57, channel="window")["cap_wd"] == 57
    kept = applications.register(ctx(FakeBureau()), **APPLICATION, project_code="2025-150100-47-03-000001")
    assert kept["project_code"] == "2025-150100-47-03-000001"


@pytest.mark.parametrize("bad", [{"cap_wd": 0}, {"cap_wd": "67"}, {"cap_wd": True}, {"channel": "fax"},
                                 {"materials": "CK-01-M1"}])
def test_register_refuses_bad_applications(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        applications.register(ctx(FakeBureau()), **APPLICATION, **bad)


def test_the_profile_is_loaded_never_asked_again() -> None:
    assert applications.load_profile(ctx(FakeBureau()), credit_code="91110000710925462X")["name"] == "示范公司"
    with pytest.raises(LookupError, match="没有基本信息档案"):
        applications.load_profile(ctx(FakeBureau()), credit_code="91350100M000100Y43")


def test_credit_and_catalog_pass_through_with_the_job_as_key() -> None:
    bureau = FakeBureau()
    assert credit.check(ctx(bureau), credit_code="91110000710925462X")["blacklisted"] is True
    credit.record(ctx(bureau), credit_code="91110000710925462X", kind="false_commitment", reason="不实",
                  project_code="P")
    assert bureau.calls[-1] == ("record_credit", {"job_id": "job-42", "credit_code": "91110000710925462X",
                                                  "kind": "false_commitment", "reason": "不实",
                                                  "instance_id": "inst-1", "project_code": "P"})
    assert catalog.check_materials(ctx(bureau), process="commercial_project", materials=None,  # type: ignore
                                   covered=None)["complete"] is False  # type: ignore[arg-type]
    assert catalog.lookup(ctx(bureau), zone_id="hlgr-core", industry="")["covers"] == ["eia"]


def test_a_deemed_approval_is_an_approval_with_its_obligation() -> None:
    bureau = FakeBureau()
    opinion = reviews.deem_approved(ctx(bureau), review="review_design_water", department="water", matter="SW-01",
                                    review_name="设计方案审查：水务意见", limit_committed_wd=10, project_code="P")
    assert (opinion["decision"], opinion["deemed"], opinion["obligation_id"]) == ("approve", True, "o1")
    assert "视为同意" in opinion["opinion"] and opinion["formal_document_due"].startswith("2026-03-03")
    assert bureau.calls[-1][1]["kind"] == "deemed_approval" and bureau.calls[-1][1]["limit_wd"] == 10


def test_deemed_acceptance_and_escalation() -> None:
    bureau = FakeBureau()
    accepted = reviews.deem_accepted(ctx(bureau), project_code="P", credit_code="91110000710925462X")
    assert (accepted["decision"], accepted["deemed"]) == ("accept", True)
    assert bureau.calls[-1][1]["department"] == "window" and bureau.calls[-1][1]["kind"] == "deemed_acceptance"
    assert reviews.escalate(ctx(bureau), level="stage", subject="stage_2", department="leadership",
                            title="第二阶段超过时限", limit_wd="25", project_code="P")["level"] == "stage"  # type: ignore
    assert bureau.calls[-1][1]["limit_wd"] == 25


def test_notices_certificates_and_sharing() -> None:
    bureau = FakeBureau()
    notices.send(ctx(bureau), kind="correction", credit_code="C", project_code="P", project_name="N",
                 corrections=["补充红线图"])
    assert bureau.calls[-1][1]["details"] == {"corrections": ["补充红线图"]}
    permit = certificates.issue(ctx(bureau), permit_type="construction", title="建筑工程施工许可证", credit_code="C",
                                project_code="P", project_name="N")
    assert bureau.calls[-1][1]["by_commitment"] is False
    certificates.revoke(ctx(bureau), permit=permit, reason="不实", credit_code="C", project_code="P")
    assert bureau.calls[-1][1] == {"job_id": "job-42", "number": "150100202603020001", "reason": "不实"}
    with pytest.raises(ValueError):
        certificates.revoke(ctx(bureau), permit={}, reason="不实", credit_code="C", project_code="P")
    enforcement.share(ctx(bureau), action="issued", permit=permit, project_code="P", credit_code="C")
    assert bureau.calls[-1][1]["permit"] == {"project_code": "P", "credit_code": "C", **permit}


def test_without_the_bureau_a_handler_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="needs the bureau's records"):
        credit.check(ctx(None, "credit.check"), credit_code="91110000710925462X")


@pytest.mark.parametrize("key", ["commercial_project", "government_investment_project"])
def test_every_topic_of_the_processes_has_a_handler(key: str) -> None:
    parsed = load_process((ROOT / "processes" / f"{key}.bpmn").read_bytes(), file=key)
    topics = {e.topic for e in parsed.elements.values() if e.topic}
    handled = {t for router in ROUTERS for t in router.topics}
    assert len(topics) == 13 and topics <= handled
