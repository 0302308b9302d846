"""Diagram SVGs: a definition's layout, and an instance's with the path it took (DESIGN.md §4 HTTP)."""

from __future__ import annotations

from apiflask import APIBlueprint
from apiflask.schemas import FileSchema
from flask import Response

from engine.api.access import current_principal
from engine.api.schemas.instances import AsOfQuery
from engine.api.session import ctx, get_session
from engine.auth import policy
from engine.services import diagrams, instances

bp = APIBlueprint("diagrams", __name__, url_prefix="/api", tag="Diagrams")

SVG_MIMETYPE = "image/svg+xml"
SVG = FileSchema(type="string", format="binary")


def svg_response(data: bytes | str) -> Response:
    response = Response(data, mimetype=SVG_MIMETYPE)
    response.headers["Content-Type"] = f"{SVG_MIMETYPE}; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/process-definitions/<int:definition_id>/diagram.svg")
@bp.output(SVG, content_type=SVG_MIMETYPE)
def definition_diagram(definition_id: int) -> Response:
    """A definition's BPMN diagram as SVG"""
    return svg_response(diagrams.definition_svg(get_session(), definition_id))


@bp.get("/process-instances/<instance_id>/diagram.svg")
@bp.input(AsOfQuery, location="query", arg_name="query")
@bp.output(SVG, content_type=SVG_MIMETYPE)
def instance_diagram(instance_id: str, query: AsOfQuery) -> Response:
    """An instance's diagram with the path it took

    `until=SEQ`: the path as of that event, rebuilt by replay (what was open then is drawn active).
    """
    session = get_session()
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    if query.until is None:
        return svg_response(diagrams.instance_svg(session, instance_id))
    return svg_response(diagrams.instance_svg_as_of(session, ctx(), instance_id, query.until))
