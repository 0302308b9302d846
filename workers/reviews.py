"""When a limit passes: a department deemed to approve (审批超时默认), the window deemed to accept (行政许可法
art 32), or — where silence may not mean consent — an escalation to the bureau's leadership (督办)."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("review.deem_approved")
def deem_approved(ctx: JobContext, review: str, department: str, matter: str, review_name: str,
                  limit_committed_wd: int, project_code: str) -> dict[str, Any]:
    """The review's opinion becomes an approval; accountability is recorded against the department, which must
    still issue its formal document within 1 working day. The result is the review's opinion variable."""
    b = bureau(ctx)
    recorded = b.record_deemed(job_id=ctx.job_id, kind="deemed_approval", instance_id=ctx.instance_id,
                               project_code=project_code, subject=review, subject_name=review_name,
                               department=department, matter=matter, limit_wd=int(limit_committed_wd))
    return {
        "decision": "approve",
        "deemed": True,
        "opinion": f"{review_name}超过承诺时限{limit_committed_wd}个工作日未答复，视为同意（不得以该意见缺失为由不予许可）",
        "department": department,
        "deemed_at": recorded["occurred_at"],
        "formal_document_due": recorded["formal_document_due"],
        "obligation_id": recorded["obligation_id"],
    }


@router.task("intake.deem_accepted")
def deem_accepted(ctx: JobContext, project_code: str, credit_code: str) -> dict[str, Any]:
    """No completeness decision within 5 days: the application counts as accepted from receipt."""
    recorded = bureau(ctx).record_deemed(job_id=ctx.job_id, kind="deemed_acceptance", instance_id=ctx.instance_id,
                                         project_code=project_code, subject="completeness_decision",
                                         subject_name="受理审查", department="window", matter="CK-01", limit_wd=5)
    return {"decision": "accept", "deemed": True, "opinion": "逾期未作受理决定，自收到申请材料之日起即为受理",
            "deemed_at": recorded["occurred_at"]}


@router.task("escalation.raise")
def escalate(ctx: JobContext, level: str, subject: str, department: str, title: str, limit_wd: int,
             project_code: str) -> dict[str, Any]:
    return bureau(ctx).escalate(job_id=ctx.job_id, instance_id=ctx.instance_id, project_code=project_code,
                                level=level, subject=subject, department=department, title=title,
                                limit_wd=int(limit_wd))
