"""/api/reports: accountability and caps (JSON or CSV), a project's Gantt chart (SVG)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from engine.api.session import ctx, get_session, now
from engine.auth.departments import load_departments
from engine.errors import InvalidInput
from engine.services import calendars, gantt, report_export, reports

bp = Blueprint("reports", __name__, url_prefix="/api/reports")


def _format() -> str:
    fmt = request.args.get("format", "json").lower()
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be json or csv")
    return fmt


def _csv(text: str, name: str) -> Response:
    response = Response("\ufeff" + text, mimetype="text/csv")  # the BOM lets spreadsheet programs read UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@bp.get("/accountability")
def accountability() -> Response | dict[str, Any]:
    fmt = _format()
    report = reports.accountability(get_session(), now=now(), departments=load_departments(ctx().processes_dir))
    return _csv(report_export.accountability_csv(report), "accountability") if fmt == "csv" else report.to_json()


@bp.get("/caps")
def caps() -> Response | dict[str, Any]:
    fmt = _format()
    session = get_session()
    rows = reports.caps(session, calendar=calendars.current(session, ctx()), now=now(), key=request.args.get("key"))
    return _csv(report_export.caps_csv(rows), "caps") if fmt == "csv" else {"items": [r.to_json() for r in rows]}


@bp.get("/gantt/<instance_id>.svg")
def gantt_chart(instance_id: str) -> Response:
    session = get_session()
    svg = gantt.project_gantt(session, instance_id, calendar=calendars.current(session, ctx()), now=now())
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    return response
