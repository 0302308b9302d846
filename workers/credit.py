"""Credit records (信用记录): the check before 容缺 / 告知承诺, and the record of a false commitment."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("credit.check")
def check(ctx: JobContext, credit_code: str) -> dict[str, Any]:
    """`blacklisted` (no 容缺受理, no 告知承诺) and `may_commit` (no blacklist entry, no false commitment)."""
    return bureau(ctx).credit_status(credit_code)


@router.task("credit.record")
def record(ctx: JobContext, credit_code: str, kind: str, reason: str, project_code: str) -> dict[str, Any]:
    return bureau(ctx).record_credit(job_id=ctx.job_id, credit_code=credit_code, kind=kind, reason=reason,
                                     instance_id=ctx.instance_id, project_code=project_code)
