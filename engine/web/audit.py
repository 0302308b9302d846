"""The auditor's pages (审计): every project's timeline, its diagram and a replay step slider, the chain
verification and the reports. Read-only: auditors change nothing (the route table gives /audit to auditors
and admins). No JavaScript: the slider is a plain GET form and every timeline row links to its step."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, render_template, request
from sqlalchemy import func, or_, select

from engine.api.session import ctx, get_session, now
from engine.auth import policy
from engine.errors import InvalidInput
from engine.models import InstanceEvent, ProcessDefinition, ProcessInstance
from engine.services import diagrams, gantt, history, instances, report_export, reports
from engine.services.replay import Replayer
from engine.web.pages import calendar, page_blueprint, web_state
from engine.web.projects import EVENT_LABELS

bp = page_blueprint("audit", __name__, url_prefix="/audit", static_folder="static/audit",
                    static_url_path="/static")

LABELS = {
    **EVENT_LABELS,
    "timer:rescheduled": "时限顺延", "timer:fired_early": "提前到期（待复核）", "job:created": "服务任务创建",
    "job:completed": "服务任务完成", "job:failed": "服务任务失败", "job:retried": "服务任务重试",
    "job:bpmn_error": "业务异常", "job:cancelled": "服务任务取消", "definition:deployed": "流程部署",
}
PAGE = 50


def _until(last_seq: int) -> int:
    raw = request.args.get("until")
    if raw in (None, ""):
        return last_seq
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput("回放位置必须是整数") from exc
    return min(max(value, 1), last_seq)


def summary(payload: dict[str, Any]) -> str:
    """One line for the timeline: what the event says, without ids."""
    parts = []
    for key in ("bpmn_id", "reason", "to", "topic", "code", "due_at", "error_message"):
        if payload.get(key):
            parts.append(f"{key}={payload[key]}")
    if payload.get("elements"):
        parts.append("→ " + "、".join(map(str, payload["elements"])))
    if isinstance(payload.get("data"), dict):
        parts.append(json.dumps(payload["data"], ensure_ascii=False, sort_keys=True)[:160])
    if isinstance(payload.get("variables"), dict) and payload["variables"]:
        parts.append(json.dumps(payload["variables"], ensure_ascii=False, sort_keys=True)[:160])
    return " · ".join(parts)


@bp.get("")
def index() -> Any:
    session = get_session()
    search = (request.args.get("q") or "").strip()[:100]
    query = select(ProcessInstance).order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)
    if search:
        # autoescape: "%" and "_" typed in the box are text, not LIKE wildcards matching every project (issue 13)
        query = query.where(or_(ProcessInstance.business_key.contains(search, autoescape=True),
                                ProcessInstance.id.startswith(search, autoescape=True),
                                ProcessInstance.process_key.contains(search, autoescape=True)))
    rows = session.scalars(query.limit(PAGE)).all()
    counts = dict(session.execute(select(InstanceEvent.chain, func.count()).where(
        InstanceEvent.chain.in_([r.id for r in rows])).group_by(InstanceEvent.chain)).all())
    names = dict(session.execute(select(ProcessDefinition.id, ProcessDefinition.name)).all())
    return render_template("audit/index.html", rows=rows, counts=counts, names=names, search=search)


@bp.get("/instances/<instance_id>")
def instance(instance_id: str) -> Any:
    session = get_session()
    record = instances.get_instance(session, instance_id)
    policy.require_instance(session, g.principal, record)
    events = list(history.list_events(session, instance_id))
    last_seq = events[-1].seq if events else 0
    until = _until(last_seq) if last_seq else 0
    with Replayer(session, ctx()) as replayer:
        report = replayer.replay(instance_id, until=until or None, verify=until == last_seq and last_seq > 0)
    definition = session.get(ProcessDefinition, record.definition_id)
    return render_template("audit/instance.html", instance=record, definition=definition, events=events,
                           until=until, last_seq=last_seq, report=report, labels=LABELS, summary=summary,
                           departments=web_state().departments)


@bp.get("/instances/<instance_id>/diagram.svg")
def diagram(instance_id: str) -> Response:
    session = get_session()
    policy.require_instance(session, g.principal, instances.get_instance(session, instance_id))
    events = history.list_events(session, instance_id)
    last_seq = events[-1].seq if events else 0
    until = _until(last_seq) if last_seq else 0
    svg = (diagrams.instance_svg(session, instance_id) if until in (0, last_seq)
           else diagrams.instance_svg_as_of(session, ctx(), instance_id, until))
    return _svg(svg)


@bp.get("/instances/<instance_id>/gantt.svg")
def gantt_chart(instance_id: str) -> Response:
    session = get_session()
    policy.require_instance(session, g.principal, instances.get_instance(session, instance_id))
    return _svg(gantt.project_gantt(session, instance_id, calendar=calendar(), now=now()))


@bp.get("/instances/<instance_id>/history.csv")
def history_csv(instance_id: str) -> Response:
    session = get_session()
    policy.require_instance(session, g.principal, instances.get_instance(session, instance_id))
    rows = [[e.seq, history.format_at(e.at), e.kind, e.actor, json.dumps(e.payload, ensure_ascii=False,
                                                                        sort_keys=True), e.prev_hash, e.hash]
            for e in history.list_events(session, instance_id)]
    text = report_export.to_csv(["seq", "at", "kind", "actor", "payload", "prev_hash", "hash"], rows)
    return _csv(text, f"history-{instance_id}")


@bp.get("/verify")
def verify() -> Any:
    problems = history.verify_all(get_session(), ctx().hmac_key)
    return render_template("audit/verify.html", problems=problems)


@bp.get("/reports/accountability")
def accountability() -> Any:
    result = reports.accountability(get_session(), now=now(), departments=web_state().departments)
    return render_template("audit/accountability.html", report=result)


@bp.get("/reports/accountability.csv")
def accountability_csv() -> Response:
    result = reports.accountability(get_session(), now=now(), departments=web_state().departments)
    return _csv(report_export.accountability_csv(result), "accountability")


@bp.get("/reports/caps")
def caps() -> Any:
    rows = reports.caps(get_session(), calendar=calendar(), now=now(), key=request.args.get("key") or None)
    return render_template("audit/caps.html", rows=rows)


@bp.get("/reports/caps.csv")
def caps_csv() -> Response:
    rows = reports.caps(get_session(), calendar=calendar(), now=now(), key=request.args.get("key") or None)
    return _csv(report_export.caps_csv(rows), "caps")


def _svg(data: bytes) -> Response:
    response = Response(data, mimetype="image/svg+xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _csv(text: str, name: str) -> Response:
    response = Response("\ufeff" + text, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
