"""/api/incidents: what needs an admin (jobs out of retries, uncaught BPMN errors); list and retry."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.openapi import COMMAND, problems
from engine.api.schemas.jobs import Incident, IncidentPage, IncidentQuery, RetryIn
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.dto import IncidentOut
from engine.services import incidents

bp = APIBlueprint("incidents", __name__, url_prefix="/api/incidents", tag="Incidents")


@bp.get("")
@bp.input(IncidentQuery, location="query", arg_name="query")
@bp.output(IncidentPage)
def list_incidents(query: IncidentQuery) -> dict[str, Any]:
    """Incidents, oldest first (`status=open` by default)"""
    rows = incidents.list_incidents(get_session(), status=query.status if query.status != "all" else None,
                                    instance_id=query.process_instance_id, offset=query.offset, limit=query.limit)
    return {"items": [i.to_json() for i in rows], "offset": query.offset, "limit": query.limit}


@bp.get("/<incident_id>")
@bp.output(Incident)
def get_incident(incident_id: str) -> dict[str, Any]:
    """One incident"""
    return IncidentOut.from_model(incidents.get_incident(get_session(), incident_id)).to_json()


@bp.post("/<incident_id>/retry")
@unit_of_work
@bp.input(RetryIn, arg_name="body")
@bp.output(Incident)
@bp.doc(responses=problems(*COMMAND, s409="the incident is already resolved"))
def retry(incident_id: str, body: RetryIn) -> dict[str, Any]:
    """Make the incident's job claimable again now with `retries` (default 1) remaining retries"""
    return incidents.retry(get_session(), ctx(), incident_id, retries=body.retries, actor=actor(),
                           now=now()).to_json()
