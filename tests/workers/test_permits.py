"""workers/permits.py called as a plain function with a fake JobContext (Temporal's ActivityEnvironment idea)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.sdk import BpmnError, JobContext
from workers import ROUTERS, permits


def test_issue_derives_the_permit_number_from_the_idempotency_key() -> None:
    ctx = JobContext(job_id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", topic="permit.issue")
    first = permits.issue(ctx, project="示范项目", applicant_code="911501000000000001")
    assert first == {"permit_no": "呼建许-0F1E2D3C4B", "project": "示范项目"}
    assert permits.issue(ctx, project="示范项目") == first  # a second run of the same job: the same permit


def test_a_blacklisted_applicant_is_a_business_error_not_a_failure() -> None:
    ctx = JobContext(job_id="job-1", topic="permit.issue")
    with pytest.raises(BpmnError) as error:
        permits.issue(ctx, applicant_code="91150100MA0BLACK01")
    assert error.value.code == "blacklisted"
    assert error.value.variables == {"refusal_reason": "失信主体"}


def test_the_credit_registry_comes_from_the_runner_deps() -> None:
    class Registry:
        def is_blacklisted(self, applicant_code: str) -> bool:
            return applicant_code == "X"

    ctx = JobContext(job_id="job-1", topic="permit.issue", deps=SimpleNamespace(credit=Registry()))
    with pytest.raises(BpmnError):
        permits.issue(ctx, applicant_code="X")
    assert permits.issue(ctx, applicant_code="91150100MA0BLACK01")["permit_no"].startswith("呼建许-")


def test_the_sample_process_topics_have_handlers() -> None:
    from engine.bpmn.parsing import load_process
    from tests.conftest import ROOT

    handled = {topic for router in ROUTERS for topic in router.topics}
    path = ROOT / "processes" / "sample_review.bpmn"
    topics = {e.topic for e in load_process(path.read_bytes(), file=path.name).elements.values() if e.topic}
    assert topics == {"permit.issue"} and topics <= handled
