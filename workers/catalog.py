"""The matter catalog at intake: materials against the list, regional-assessment coverage of the project's zone."""

from __future__ import annotations

from typing import Any

from engine.sdk import JobContext, TaskRouter
from workers.bureau import bureau

router = TaskRouter()


@router.task("catalog.check_materials")
def check_materials(ctx: JobContext, process: str, materials: list[str], covered: list[str]) -> dict[str, Any]:
    """What is missing (primary / secondary) and whether 容缺 or 告知承诺 may apply, for the window's decision."""
    return bureau(ctx).check_materials(process, list(materials or []), list(covered or []))


@router.task("zone.lookup")
def lookup(ctx: JobContext, zone_id: str, industry: str) -> dict[str, Any]:
    """The assessments a project in this zone may skip today (`covers`), and why."""
    return bureau(ctx).zone_coverage(zone_id or "", industry or "")
