"""/api/history: an instance's events in order, paged by sequence number."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.access import current_principal
from engine.api.requests import page
from engine.api.session import get_session
from engine.auth import policy
from engine.auth.masking import mask_value
from engine.dto import EventOut
from engine.errors import InvalidInput
from engine.services import history, instances

bp = Blueprint("history", __name__, url_prefix="/api/history")


@bp.get("/process-instances/<instance_id>/events")
def events(instance_id: str) -> dict[str, Any]:
    session = get_session()
    principal = current_principal()
    policy.require_instance(session, principal, instances.get_instance(session, instance_id))
    _offset, limit = page()
    try:
        after = int(request.args.get("afterSeq", 0))
    except ValueError as exc:
        raise InvalidInput("afterSeq must be an integer") from exc
    rows = history.list_events(session, instance_id, after_seq=after, limit=limit)
    items = [EventOut.from_model(e).to_json() for e in rows]
    # Masked payloads no longer match their hashes; auditors and admins (who verify) get them in clear.
    if not policy.needs_personal_data(principal):
        items = [{**item, "payload": mask_value(item["payload"])} for item in items]
    return {"items": items, "limit": limit}
