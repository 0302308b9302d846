"""Auditors' JSON API: replay an instance as of any event, verify every history chain (reports: reports.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.access import current_principal
from engine.api.session import ctx, get_session
from engine.auth import policy
from engine.errors import InvalidInput
from engine.services import history, instances
from engine.services.replay import Replayer

bp = Blueprint("audit_api", __name__, url_prefix="/api")


def int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer") from exc


@bp.get("/process-instances/<instance_id>/replay")
def replay(instance_id: str) -> dict[str, Any]:
    """The instance rebuilt from its history as of event `until` (default: all); `verify=true` also compares
    the rebuilt state with the stored one. `ok` false names the first differing event."""
    session = get_session()
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    verify = request.args.get("verify", "false").lower() == "true"
    with Replayer(session, ctx()) as replayer:
        return replayer.replay(instance_id, until=int_arg("until"), verify=verify).to_json()


@bp.get("/audit/verify")
def verify() -> dict[str, Any]:
    """Every hash chain recomputed and every signed head checked (as `approvals audit verify`)."""
    problems = history.verify_all(get_session(), ctx().hmac_key)
    return {"ok": not problems, "problems": [{"chain": p.chain, "seq": p.seq, "problem": p.problem}
                                             for p in problems]}
