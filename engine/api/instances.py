"""/api/process-instances: list, get, suspend, resume, terminate."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.access import current_principal
from engine.api.openapi import COMMAND, problems
from engine.api.schemas.instances import Instance, InstancePage, InstanceQuery, ReasonIn
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import policy
from engine.auth.masking import mask_value
from engine.services import instances

bp = APIBlueprint("instances", __name__, url_prefix="/api/process-instances", tag="Process instances")


@bp.get("")
@bp.input(InstanceQuery, location="query", arg_name="query")
@bp.output(InstancePage)
def list_instances(query: InstanceQuery) -> dict[str, Any]:
    """Instances the caller may see, newest first"""
    session = get_session()
    rows = instances.list_instances(session, key=query.key, status=query.status, business_key=query.business_key,
                                    offset=query.offset, limit=query.limit,
                                    only_ids=policy.instance_ids_in_scope(session, current_principal()))
    return {"items": [i.to_json() for i in rows], "offset": query.offset, "limit": query.limit}


@bp.get("/<instance_id>")
@bp.output(Instance)
def get_instance(instance_id: str) -> dict[str, Any]:
    """One instance with its process data"""
    session = get_session()
    principal = current_principal()
    policy.require_instance(session, principal, instances.get_instance(session, instance_id))
    body = instances.describe(session, ctx(), instance_id).to_json()
    return body if policy.needs_personal_data(principal) else mask_value(body)


def _reason(body: ReasonIn) -> str:
    """Admin repairs state why (recorded in the instance's history)."""
    return body.reason.strip()


@bp.post("/<instance_id>/suspend")
@unit_of_work
@bp.input(ReasonIn, arg_name="body")
@bp.output(Instance)
@bp.doc(responses=problems(*COMMAND))
def suspend(instance_id: str, body: ReasonIn) -> dict[str, Any]:
    """Suspend a running instance (admin): timers and jobs wait; the legal clock runs on"""
    return instances.set_suspended(get_session(), ctx(), instance_id, True, actor=actor(), now=now(),
                                   reason=_reason(body)).to_json()


@bp.post("/<instance_id>/resume")
@unit_of_work
@bp.input(ReasonIn, arg_name="body")
@bp.output(Instance)
@bp.doc(responses=problems(*COMMAND))
def resume(instance_id: str, body: ReasonIn) -> dict[str, Any]:
    """Resume a suspended instance (admin)"""
    return instances.set_suspended(get_session(), ctx(), instance_id, False, actor=actor(), now=now(),
                                   reason=_reason(body)).to_json()


@bp.post("/<instance_id>/terminate")
@unit_of_work
@bp.input(ReasonIn, arg_name="body")
@bp.output(Instance)
@bp.doc(responses=problems(*COMMAND))
def terminate(instance_id: str, body: ReasonIn) -> dict[str, Any]:
    """Terminate an instance (admin): open tasks and jobs are cancelled"""
    return instances.terminate(get_session(), ctx(), instance_id, actor=actor(), now=now(),
                               reason=_reason(body)).to_json()
