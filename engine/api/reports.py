"""/api/reports: accountability and caps (JSON or CSV), a project's Gantt chart (SVG)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response

from engine.api.access import current_principal
from engine.api.diagrams import SVG, SVG_MIMETYPE, svg_response
from engine.api.schemas.audit import Accountability, Caps, CapsQuery, ReportQuery
from engine.api.session import ctx, get_session, now
from engine.auth import policy
from engine.auth.departments import load_departments
from engine.services import calendars, gantt, instances, report_export, reports

bp = APIBlueprint("reports", __name__, url_prefix="/api/reports", tag="Reports")
CSV = {200: {"content": {"text/csv": {"schema": {"contentMediaType": "text/csv"}}}}}  # `format=csv`, beside JSON


def _csv(text: str, name: str) -> Response:
    response = Response("\ufeff" + text, mimetype="text/csv")  # the BOM lets spreadsheet programs read UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@bp.get("/accountability")
@bp.input(ReportQuery, location="query", arg_name="query")
@bp.output(Accountability)
@bp.doc(responses=CSV)
def accountability(query: ReportQuery) -> Response | dict[str, Any]:
    """Deemed approvals and overdue reviews by department and step, with the projects (JSON or CSV)"""
    report = reports.accountability(get_session(), now=now(), departments=load_departments(ctx().processes_dir))
    if query.format == "csv":
        return _csv(report_export.accountability_csv(report), "accountability")
    return report.to_json()


@bp.get("/caps")
@bp.input(CapsQuery, location="query", arg_name="query")
@bp.output(Caps)
@bp.doc(responses=CSV)
def caps(query: CapsQuery) -> Response | dict[str, Any]:
    """Per project: working days used against the cap, pauses, stages (JSON or CSV)"""
    session = get_session()
    rows = reports.caps(session, calendar=calendars.current(session, ctx()), now=now(), key=query.key)
    if query.format == "csv":
        return _csv(report_export.caps_csv(rows), "caps")
    return {"items": [r.to_json() for r in rows]}


@bp.get("/gantt/<instance_id>.svg")
@bp.output(SVG, content_type=SVG_MIMETYPE)
def gantt_chart(instance_id: str) -> Response:
    """A project's Gantt chart in working days (SVG, Chinese kept as text)"""
    session = get_session()
    # A leader sees their departments' projects only, as everywhere else (issue 13: this chart showed any project).
    policy.require_instance(session, current_principal(), instances.get_instance(session, instance_id))
    return svg_response(gantt.project_gantt(session, instance_id, calendar=calendars.current(session, ctx()),
                                            now=now()))
