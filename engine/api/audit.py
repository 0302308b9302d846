"""Auditors' JSON API: replay an instance as of any event, verify every history chain (reports: reports.py)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.access import current_principal
from engine.api.schemas.audit import ReplayQuery, ReplayReport, Verification
from engine.api.session import ctx, get_session
from engine.auth import policy
from engine.services import history, instances
from engine.services.replay import Replayer

bp = APIBlueprint("audit_api", __name__, url_prefix="/api", tag="Audit")


@bp.get("/process-instances/<instance_id>/replay")
@bp.input(ReplayQuery, location="query", arg_name="query")
@bp.output(ReplayReport)
def replay(instance_id: str, query: ReplayQuery) -> dict[str, Any]:
    """The instance rebuilt from its history as of event `until` (default: all)

    `verify=true` also compares the rebuilt state with the stored one. `ok` false names the first differing
    event in `difference`; `as_of` holds the open tasks, waiting timers and data then.
    """
    session = get_session()
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    with Replayer(session, ctx()) as replayer:
        return replayer.replay(instance_id, until=query.until, verify=query.verify).to_json()


@bp.get("/audit/verify")
@bp.output(Verification)
def verify() -> dict[str, Any]:
    """Every hash chain recomputed and every signed head checked (as `approvals audit verify`)"""
    problems = history.verify_all(get_session(), ctx().hmac_key)
    return {"ok": not problems, "problems": [{"chain": p.chain, "seq": p.seq, "problem": p.problem}
                                             for p in problems]}
