"""Approval results shared with enforcement departments (审批与监管协作): one feed entry per permit issued or
revoked."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("enforcement.share")
def share(ctx: JobContext, action: str, permit: dict[str, Any], project_code: str,
          credit_code: str) -> dict[str, Any]:
    return bureau(ctx).share(job_id=ctx.job_id, action=action,
                             permit={"project_code": project_code, "credit_code": credit_code, **permit},
                             instance_id=ctx.instance_id)
