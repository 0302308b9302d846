"""What the approval-process handlers need from their runner: `ctx.deps` implementing `Bureau` (in the engine:
engine.bureau.deps.BureauDeps over its database; in tests: a fake). Handlers call it, never a database."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from engine.sdk import JobContext


class Bureau(Protocol):
    def now(self) -> datetime: ...

    def register_project(self, *, job_id: str, instance_id: str, credit_code: str, name: str, process_key: str,
                         kind: str) -> str: ...

    def profile(self, credit_code: str) -> dict[str, Any] | None: ...

    def credit_status(self, credit_code: str) -> dict[str, Any]: ...

    def record_credit(self, *, job_id: str, credit_code: str, kind: str, reason: str, instance_id: str,
                      project_code: str) -> dict[str, Any]: ...

    def check_materials(self, process: str, materials: list[str], covered: list[str]) -> dict[str, Any]: ...

    def zone_coverage(self, zone_id: str, industry: str) -> dict[str, Any]: ...

    def send_notice(self, *, job_id: str, kind: str, credit_code: str, project_code: str, project_name: str,
                    instance_id: str, details: dict[str, Any]) -> dict[str, Any]: ...

    def issue_permit(self, *, job_id: str, permit_type: str, title: str, instance_id: str, credit_code: str,
                     project_code: str, project_name: str, by_commitment: bool) -> dict[str, Any]: ...

    def revoke_permit(self, *, job_id: str, number: str, reason: str) -> dict[str, Any]: ...

    def share(self, *, job_id: str, action: str, permit: dict[str, Any], instance_id: str) -> dict[str, Any]: ...

    def record_deemed(self, *, job_id: str, kind: str, instance_id: str, project_code: str, subject: str,
                      subject_name: str, department: str, matter: str | None, limit_wd: int) -> dict[str, Any]: ...

    def escalate(self, *, job_id: str, instance_id: str, project_code: str, level: str, subject: str,
                 department: str, title: str, limit_wd: int) -> dict[str, Any]: ...


def bureau(ctx: JobContext) -> Bureau:
    """The runner's bureau dependencies; a clear failure (retried, then an incident) when it has none."""
    deps = ctx.deps
    if deps is None or not hasattr(deps, "send_notice"):
        raise RuntimeError(f"{ctx.topic} needs the bureau's records: run it in a worker started with "
                           "deps=engine.bureau.deps.BureauDeps (approvals serve / approvals worker without --url)")
    return deps  # type: ignore[no-any-return]
