"""Permits as electronic certificates (电子证照): number and document when issued; revocation after a false
commitment. Variables: `permit_<type>` = the permit (number, type, document hash), `revocation`."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("certificate.issue")
def issue(ctx: JobContext, permit_type: str, title: str, credit_code: str, project_code: str, project_name: str,
          by_commitment: bool = False) -> dict[str, Any]:
    return bureau(ctx).issue_permit(job_id=ctx.job_id, permit_type=permit_type, title=title,
                                    instance_id=ctx.instance_id, credit_code=credit_code, project_code=project_code,
                                    project_name=project_name, by_commitment=bool(by_commitment))


@router.task("certificate.revoke")
def revoke(ctx: JobContext, permit: dict[str, Any], reason: str, credit_code: str,
           project_code: str) -> dict[str, Any]:
    """Revoke (行政许可法 art 69) the permit a false commitment obtained."""
    if not isinstance(permit, dict) or not permit.get("number"):
        raise ValueError(f"not a permit: {permit!r}")
    return bureau(ctx).revoke_permit(job_id=ctx.job_id, number=str(permit["number"]), reason=reason)
