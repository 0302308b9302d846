"""/api/process-instances: list, get, suspend, resume, terminate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.access import current_principal
from engine.api.requests import json_body, page
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import policy
from engine.auth.masking import mask_value
from engine.errors import InvalidInput
from engine.services import instances

bp = Blueprint("instances", __name__, url_prefix="/api/process-instances")


@bp.get("")
def list_instances() -> dict[str, Any]:
    offset, limit = page()
    session = get_session()
    rows = instances.list_instances(session, key=request.args.get("key"), status=request.args.get("status"),
                                    business_key=request.args.get("businessKey"), offset=offset, limit=limit,
                                    only_ids=policy.instance_ids_in_scope(session, current_principal()))
    return {"items": [i.to_json() for i in rows], "offset": offset, "limit": limit}


@bp.get("/<instance_id>")
def get_instance(instance_id: str) -> dict[str, Any]:
    session = get_session()
    principal = current_principal()
    policy.require_instance(session, principal, instances.get_instance(session, instance_id))
    body = instances.describe(session, ctx(), instance_id).to_json()
    return body if policy.needs_personal_data(principal) else mask_value(body)


def _reason() -> str:
    """Admin repairs state why (recorded in the instance's history)."""
    reason = str(json_body().get("reason") or "").strip()
    if not reason:
        raise InvalidInput("state the reason for this repair in 'reason'")
    return reason[:500]


@bp.post("/<instance_id>/suspend")
@unit_of_work
def suspend(instance_id: str) -> dict[str, Any]:
    return instances.set_suspended(get_session(), ctx(), instance_id, True, actor=actor(), now=now(),
                                   reason=_reason()).to_json()


@bp.post("/<instance_id>/resume")
@unit_of_work
def resume(instance_id: str) -> dict[str, Any]:
    return instances.set_suspended(get_session(), ctx(), instance_id, False, actor=actor(), now=now(),
                                   reason=_reason()).to_json()


@bp.post("/<instance_id>/terminate")
@unit_of_work
def terminate(instance_id: str) -> dict[str, Any]:
    return instances.terminate(get_session(), ctx(), instance_id, actor=actor(), now=now(),
                               reason=_reason()).to_json()
