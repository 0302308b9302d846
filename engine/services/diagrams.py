"""Diagrams of definitions and instances: the BPMN layout with the path an instance took, read from its history.

What is highlighted, and how it is derived from events (an approximation, documented in the README):
- completed: every element named in `instance:advanced` (engine steps, in order), `task:completed`, `timer:fired`
  and `job:completed`/`job:bpmn_error` payloads;
- active: open user tasks and waiting timers (from the rows, or from a replay for an as-of view), plus every
  subprocess that contains one;
- taken flows: a completed element's outgoing sequence flows when it does not choose among them (tasks, events,
  parallel gateways: every unconditional outflow carries a token, e.g. to a join still waiting), otherwise (a
  deciding gateway, a conditional flow) those whose target completed or is active. The history records elements,
  not flows, so a flow between two completed elements that was not itself taken (a back-flow beside the forward
  path) is drawn as taken too;
- fired timers: `timer:fired` events and completed timer events;
- deemed approvals: `task:deemed_approved` events, and reviews (user tasks whose `silent_default` is not false)
  whose interrupting boundary timer fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.diagram import Diagram, Highlight, parse_diagram, render_svg
from engine.errors import DefinitionNotFound
from engine.models import HumanTask, HumanTaskStatus, ProcessDefinition, ProcessInstance, Timer, TimerStatus
from engine.services import history
from engine.services.context import EngineContext
from engine.services.instances import get_instance

# Event kinds whose payload names an element that ran to completion.
COMPLETING_KINDS = {"task:completed", "timer:fired", "job:completed", "job:bpmn_error"}
DECIDING_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}


class EventLike(Protocol):
    kind: str
    payload: dict[str, Any]


def diagram_of(definition: ProcessDefinition) -> Diagram:
    return parse_diagram(definition.source_xml.encode("utf-8"), file=definition.file_name)


def derive_highlight(diagram: Diagram, events: Iterable[EventLike], *, active: Iterable[str] = (),
                     elements: dict[str, Any] | None = None) -> Highlight:
    """What an instance's history says happened, as a `Highlight` (see the module docstring)."""
    completed: set[str] = set()
    fired: set[str] = set()
    deemed: set[str] = set()
    for event in events:
        payload = event.payload or {}
        if event.kind == "instance:advanced":
            completed.update(str(e) for e in payload.get("elements", []) or [])
        elif event.kind in COMPLETING_KINDS and payload.get("bpmn_id"):
            completed.add(str(payload["bpmn_id"]))
            if event.kind == "timer:fired":
                fired.add(str(payload["bpmn_id"]))
        elif event.kind == "task:deemed_approved" and payload.get("bpmn_id"):
            deemed.add(str(payload["bpmn_id"]))
    fired |= completed & diagram.timers
    deemed |= _deemed_by_timer(diagram, fired, elements or {})
    active_set = set(active)
    for element_id in list(active_set):
        parent = diagram.parents.get(element_id)
        while parent:
            active_set.add(parent)
            parent = diagram.parents.get(parent)
    reached = completed | active_set
    taken = {flow_id for flow_id, (source, target) in diagram.flows.items()
             if source in completed and (target in reached or not _chooses(diagram, source, flow_id))}
    return Highlight.of(completed=completed, active=active_set, taken_flows=taken, fired_timers=fired,
                        deemed=deemed)


def _chooses(diagram: Diagram, source: str | None, flow_id: str) -> bool:
    """Whether a token may or may not take this flow: a deciding gateway's outflows and conditional flows."""
    return diagram.elements.get(source or "") in DECIDING_GATEWAYS or flow_id in diagram.conditional_flows


def _deemed_by_timer(diagram: Diagram, fired: set[str], elements: dict[str, Any]) -> set[str]:
    deemed = set()
    for timer_id in fired:
        host, interrupting = diagram.boundary.get(timer_id, ("", False))
        if not interrupting or diagram.elements.get(host) != "userTask":
            continue
        properties = (elements.get(host) or {}).get("properties") or {}
        if str(properties.get("silent_default", "true")).strip().lower() != "false":
            deemed.add(host)
    return deemed


def definition_svg(session: Session, definition_id: int) -> bytes:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise DefinitionNotFound(f"no process definition {definition_id}")
    title = f"{definition.name or definition.process_key} · v{definition.version}"
    return render_svg(diagram_of(definition), title=title)


def current_active(session: Session, instance_id: str) -> list[str]:
    """Open user tasks and waiting timers, from the rows the command path keeps in step with the state."""
    tasks = session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.status == HumanTaskStatus.OPEN))
    timers = session.scalars(select(Timer.bpmn_id).where(Timer.instance_id == instance_id,
                                                         Timer.status == TimerStatus.WAITING))
    return [*tasks, *timers]


def instance_highlight(session: Session, instance: ProcessInstance, definition: ProcessDefinition,
                       diagram: Diagram) -> Highlight:
    events = history.list_events(session, instance.id)
    return derive_highlight(diagram, events, active=current_active(session, instance.id),
                            elements=definition.elements)


def instance_svg(session: Session, instance_id: str, *, events: Sequence[EventLike] | None = None,
                 active: Iterable[str] | None = None, title_suffix: str = "") -> bytes:
    """The instance's diagram; `events`/`active` override the current history and rows (as-of views)."""
    instance = get_instance(session, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None  # FK
    diagram = diagram_of(definition)
    if events is None and active is None:
        highlight = instance_highlight(session, instance, definition, diagram)
    else:
        highlight = derive_highlight(
            diagram,
            events if events is not None else history.list_events(session, instance.id),
            active=active if active is not None else current_active(session, instance.id),
            elements=definition.elements,
        )
    label = instance.business_key or instance.id[:8]
    title = f"{definition.name or definition.process_key} · v{definition.version} · {label}{title_suffix}"
    return render_svg(diagram, highlight, title=title)


def instance_svg_as_of(session: Session, ctx: EngineContext, instance_id: str, until: int) -> bytes:
    """The diagram as of event `until`: completed from the events up to it, active from a replay to it."""
    from engine.services.replay import Replayer

    with Replayer(session, ctx) as replayer:
        report = replayer.replay(instance_id, until=until)
    events = [e for e in history.list_events(session, instance_id) if e.seq <= report.until]
    active = report.as_of.active if report.as_of is not None else []
    return instance_svg(session, instance_id, events=events, active=active, title_suffix=f" · 截至第 {until} 条记录")
