"""/api/history: an instance's events in order, paged by sequence number."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.access import current_principal
from engine.api.schemas.instances import EventPage, EventQuery
from engine.api.session import get_session
from engine.auth import policy
from engine.auth.masking import mask_value
from engine.dto import EventOut
from engine.services import history, instances

bp = APIBlueprint("history", __name__, url_prefix="/api/history", tag="History")


@bp.get("/process-instances/<instance_id>/events")
@bp.input(EventQuery, location="query", arg_name="query")
@bp.output(EventPage)
def events(instance_id: str, query: EventQuery) -> dict[str, Any]:
    """An instance's events in sequence order, after `afterSeq`

    Each event carries `prev_hash` and `hash` (the tamper-evident chain). Personal numbers in payloads are masked
    except for auditors, admins and the front window (masked payloads no longer match their hashes).
    """
    session = get_session()
    principal = current_principal()
    policy.require_instance(session, principal, instances.get_instance(session, instance_id))
    rows = history.list_events(session, instance_id, after_seq=query.after_seq, limit=query.limit)
    items = [EventOut.from_model(e).to_json() for e in rows]
    # Masked payloads no longer match their hashes; auditors and admins (who verify) get them in clear.
    if not policy.needs_personal_data(principal):
        items = [{**item, "payload": mask_value(item["payload"])} for item in items]
    return {"items": items, "limit": query.limit}
