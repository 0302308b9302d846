"""Permits (制发许可证): the sample process's `permit.issue` service task.

The permit number is derived from the job id, the idempotency key: if the job runs twice (a worker died after
issuing, before reporting), the applicant gets the same number, not two permits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from engine.sdk import BpmnError, JobContext, RetryPolicy, TaskRouter

router = TaskRouter()


class CreditRegistry(Protocol):
    """The credit blacklist (失信主体名单) consulted before a permit is issued."""

    def is_blacklisted(self, applicant_code: str) -> bool: ...


class DemoCreditRegistry:
    """Stands in for the credit-China lookup until one is connected: a fixed set of unified credit codes."""

    def __init__(self, codes: frozenset[str] = frozenset({"91150100MA0BLACK01"})) -> None:
        self.codes = codes

    def is_blacklisted(self, applicant_code: str) -> bool:
        return applicant_code in self.codes


DEMO_CREDIT = DemoCreditRegistry()


def _credit(ctx: JobContext) -> CreditRegistry:
    """`deps.credit` when the runner was given one, else the demo registry."""
    return getattr(ctx.deps, "credit", None) or DEMO_CREDIT


@router.task("permit.issue", retry=RetryPolicy(retries=3, initial_delay=timedelta(seconds=10)))
def issue(ctx: JobContext, project: str = "", applicant_code: str = "") -> dict[str, object]:
    """Issue the construction permit for an approved project; a blacklisted applicant is refused (BPMN error
    `blacklisted`, caught by the boundary event on the permit task)."""
    if applicant_code and _credit(ctx).is_blacklisted(applicant_code):
        raise BpmnError("blacklisted", f"申请人 {applicant_code} 列入失信主体名单，不予发证",
                        {"refusal_reason": "失信主体"})
    return {"permit_no": f"呼建许-{ctx.job_id.replace('-', '')[:10].upper()}", "project": project}
