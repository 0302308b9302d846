"""Diagram SVGs: a definition's layout, and an instance's with the path it took (DESIGN.md §4 HTTP)."""

from __future__ import annotations

from flask import Blueprint, Response

from engine.api.access import current_principal
from engine.api.session import get_session
from engine.auth import policy
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
    session = get_session()
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    return _svg(diagrams.instance_svg(session, instance_id))
