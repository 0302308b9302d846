"""Diagram SVGs: a definition's layout, and an instance's with the path it took (DESIGN.md §4 HTTP)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from engine.api.access import current_principal
from engine.api.session import ctx, get_session
from engine.auth import policy
from engine.errors import InvalidInput
from engine.services import diagrams, instances

bp = Blueprint("diagrams", __name__, url_prefix="/api")

SVG_MIMETYPE = "image/svg+xml"


def _svg(data: bytes) -> Response:
    response = Response(data, mimetype=SVG_MIMETYPE)
    response.headers["Content-Type"] = f"{SVG_MIMETYPE}; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/process-definitions/<int:definition_id>/diagram.svg")
def definition_diagram(definition_id: int) -> Response:
    return _svg(diagrams.definition_svg(get_session(), definition_id))


@bp.get("/process-instances/<instance_id>/diagram.svg")
def instance_diagram(instance_id: str) -> Response:
    """`?until=SEQ`: the path as of that event, rebuilt by replay (what was open then is drawn active)."""
    session = get_session()
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    until = request.args.get("until")
    if until is None or until == "":
        return _svg(diagrams.instance_svg(session, instance_id))
    try:
        seq = int(until)
    except ValueError as exc:
        raise InvalidInput("until must be an integer") from exc
    return _svg(diagrams.instance_svg_as_of(session, ctx(), instance_id, seq))
