"""/api/history: an instance's events in order, paged by sequence number."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.requests import page
from engine.api.session import get_session
from engine.dto import EventOut
from engine.errors import InvalidInput
from engine.services import history, instances

bp = Blueprint("history", __name__, url_prefix="/api/history")


@bp.get("/process-instances/<instance_id>/events")
def events(instance_id: str) -> dict[str, Any]:
    session = get_session()
    instances.get_instance(session, instance_id)
    _offset, limit = page()
    try:
        after = int(request.args.get("afterSeq", 0))
    except ValueError as exc:
        raise InvalidInput("afterSeq must be an integer") from exc
    rows = history.list_events(session, instance_id, after_seq=after, limit=limit)
    return {"items": [EventOut.from_model(e).to_json() for e in rows], "limit": limit}
