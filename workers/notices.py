"""Numbered written notices to the applicant, through the outbox and its pluggable sender."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("notice.send")
def send(ctx: JobContext, kind: str, credit_code: str, project_code: str, project_name: str,
         **details: Any) -> dict[str, Any]:
    """Number, store and send one notice; further parameters (reasons, corrections, permit_no...) fill its text."""
    return bureau(ctx).send_notice(job_id=ctx.job_id, kind=kind, credit_code=credit_code, project_code=project_code,
                                   project_name=project_name, instance_id=ctx.instance_id, details=details)
