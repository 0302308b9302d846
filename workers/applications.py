"""Registering an application (登记申请) and loading the applicant profile it refers to (entered once)."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()
CHANNELS = ("online", "window")


@router.task("application.register")
def register(ctx: JobContext, credit_code: str, project_name: str, process_key: str, process_kind: str,
             cap_wd_default: int, **application: Any) -> dict[str, Any]:
    """Give the application its project code and normalize its optional fields (defaults for what the applicant
    left out; the cap comes from the application when given, else the process's default)."""
    cap = application.get("cap_wd")
    cap_wd = cap_wd_default if cap in (None, "") else cap
    if isinstance(cap_wd, bool) or not isinstance(cap_wd, int) or not 1 <= cap_wd <= 365:
        raise ValueError(f"cap_wd must be a whole number of working days between 1 and 365, not {cap!r}")
    channel = application.get("channel") or "online"
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    materials = application.get("materials") or []
    if not isinstance(materials, list) or not all(isinstance(m, str) for m in materials):
        raise ValueError("materials must be a list of material codes")
    code = application.get("project_code") or bureau(ctx).register_project(
        job_id=ctx.job_id, instance_id=ctx.instance_id, credit_code=credit_code, name=project_name,
        process_key=process_key, kind=process_kind)
    return {
        "project_code": code,
        "cap_wd": cap_wd,
        "zone_id": str(application.get("zone_id") or ""),
        "industry": str(application.get("industry") or ""),
        "materials": list(materials),
        "channel": channel,
        "consultation_requested": bool(application.get("consultation_requested", False)),
        "commitment_requested": bool(application.get("commitment_requested", False)),
    }


@router.task("applicant.load_profile")
def load_profile(ctx: JobContext, credit_code: str) -> dict[str, Any]:
    """The applicant's profile as `applicant` (forms prefill from it): never asked for again."""
    profile = bureau(ctx).profile(credit_code)
    if profile is None:
        raise LookupError(f"申请人 {credit_code} 没有基本信息档案：先提交申请人基本信息")
    return profile
