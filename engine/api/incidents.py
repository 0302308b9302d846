"""/api/incidents: what needs an admin (jobs out of retries, uncaught BPMN errors); list and retry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.requests import json_body, page
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.dto import IncidentOut
from engine.services import incidents

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")


@bp.get("")
def list_incidents() -> dict[str, Any]:
    offset, limit = page()
    status = request.args.get("status", "open")
    rows = incidents.list_incidents(get_session(), status=status if status != "all" else None,
                                    instance_id=request.args.get("processInstanceId"), offset=offset, limit=limit)
    return {"items": [i.to_json() for i in rows], "offset": offset, "limit": limit}


@bp.get("/<incident_id>")
def get_incident(incident_id: str) -> dict[str, Any]:
    return IncidentOut.from_model(incidents.get_incident(get_session(), incident_id)).to_json()


@bp.post("/<incident_id>/retry")
@unit_of_work
def retry(incident_id: str) -> dict[str, Any]:
    """Make the incident's job claimable again now with `retries` (default 1) remaining retries."""
    retries = json_body().get("retries", 1)
    return incidents.retry(get_session(), ctx(), incident_id, retries=retries, actor=actor(), now=now()).to_json()
