"""What a scenario's instance did, read back from the engine, and the check of a scenario's expectations.

Elements come from the instance's history, as the auditors' diagram reads it (engine/services/diagrams.py):
completed = named by `instance:advanced`, `task:completed`, `timer:fired`, `job:*`; reached = completed, plus
open tasks and waiting timers at the end, plus tasks and jobs a token arrived at and was taken away from. Deemed approvals and working days used are the auditors' definitions
(engine/services/reports.py). Flows come from the instance's task tree (engine/bpmn/coverage.py): the history
records elements, not flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from engine.app_state import AppState
from engine.bpmn import coverage, runtime
from engine.bpmn.serialization import load_workflow
from engine.bpmn.structure import Structure
from engine.diagram.model import parse_semantics
from engine.models import HumanTask, HumanTaskStatus, Incident, IncidentStatus, ProcessDefinition, ProcessInstance
from engine.scenarios.spec import Expect
from engine.services import diagrams, history, reports

MISSING = object()


@dataclass
class Outcome:
    instance_id: str
    process: str
    status: str
    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)  # waiting at the end, or a token arrived there (see _arrived)
    flows: set[str] = field(default_factory=set)
    ends: set[str] = field(default_factory=set)  # end events of the process itself (not of subprocesses)
    deemed: set[str] = field(default_factory=set)
    open_tasks: set[str] = field(default_factory=set)
    working_days: int = 0
    incidents: int = 0
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def reached(self) -> set[str]:
        return self.completed | self.active

    def to_json(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "process": self.process, "status": self.status,
                "ends": sorted(self.ends), "deemed": sorted(self.deemed), "open_tasks": sorted(self.open_tasks),
                "working_days": self.working_days, "incidents": self.incidents,
                "elements": sorted(self.reached), "flows": sorted(self.flows)}

    def check(self, expect: Expect) -> list[str]:
        """What differs from the expectations, one readable line each (empty: the scenario passes)."""
        failures: list[str] = []

        def names(items: set[str] | frozenset[str]) -> str:
            return ", ".join(sorted(items)) or "none"

        if expect.state is not None and self.status != expect.state:
            failures.append(f"state: expected {expect.state}, got {self.status}")
        if expect.end is not None and expect.end not in self.ends:
            failures.append(f"end: expected {expect.end} reached; end events reached: {names(self.ends)}")
        if expect.ends is not None and set(expect.ends) != self.ends:
            failures.append(f"ends: expected {names(expect.ends)}; reached {names(self.ends)}")
        missing = set(expect.reached) - self.reached
        if missing:
            failures.append(f"reached: never reached {names(missing)}")
        unexpected = set(expect.not_reached) & self.reached
        if unexpected:
            failures.append(f"not_reached: reached {names(unexpected)}")
        if expect.deemed is not None and set(expect.deemed) != self.deemed:
            failures.append(f"deemed: expected {names(expect.deemed)}; deemed approved {names(self.deemed)}")
        if expect.working_days is not None and self.working_days != expect.working_days:
            failures.append(f"working_days: expected {expect.working_days}, used {self.working_days}")
        if expect.working_days_max is not None and self.working_days > expect.working_days_max:
            failures.append(f"working_days_max: used {self.working_days} > {expect.working_days_max}")
        if expect.open_tasks is not None and set(expect.open_tasks) != self.open_tasks:
            failures.append(f"open_tasks: expected {names(expect.open_tasks)}; open {names(self.open_tasks)}")
        if expect.incidents is not None and self.incidents != expect.incidents:
            failures.append(f"incidents: expected {expect.incidents}, got {self.incidents}")
        for path, want in expect.variables.items():
            got = lookup(self.variables, path)
            if got is MISSING:
                failures.append(f"variables.{path}: missing (expected {want!r})")
            elif got != want:
                failures.append(f"variables.{path}: expected {want!r}, got {got!r}")
        return failures


def lookup(data: Any, path: str) -> Any:
    """`a.b.0.c` into nested dicts and lists; MISSING when any part is absent."""
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def observe(state: AppState, instance_id: str, structure: Structure) -> Outcome:
    """Read the instance back: status, elements, flows, deemed approvals, working days, variables."""
    with state.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        definition = session.get(ProcessDefinition, instance.definition_id)
        assert definition is not None
        events = list(history.list_events(session, instance_id))
        active = _with_containers(set(diagrams.current_active(session, instance_id)), structure)
        completed = _completed(events)
        arrived = _arrived(events, structure)
        semantics = parse_semantics(definition.source_xml.encode("utf-8"), file=definition.file_name)
        deemed = {d.bpmn_id for d in reports.deemed_in(events, semantics, definition.elements or {})}
        calendar = state.ctx.calendars.get(session)
        used = reports.cap_row(instance, definition, events, calendar, state.clock.now(), semantics).used_wd
        incidents = session.scalar(select(func.count()).select_from(Incident).where(
            Incident.instance_id == instance_id, Incident.status == IncidentStatus.OPEN)) or 0
        parsed = state.ctx.specs.get(definition)
        workflow = load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs)
        open_tasks = set(session.scalars(select(HumanTask.bpmn_id).where(
            HumanTask.instance_id == instance_id, HumanTask.status == HumanTaskStatus.OPEN)))
        status = instance.status
    variables = runtime.workflow_data(workflow) if status == "completed" else runtime.open_task_data(workflow)
    flows = coverage.taken_flows(workflow, {f.id: (f.source, f.target) for f in structure.flows.values()})
    ends = {e for e in completed if (node := structure.nodes.get(e)) is not None and node.type == "endEvent"
            and node.container is None}  # the process's own ends; those inside subprocesses count as reached
    return Outcome(instance_id, instance.process_key, status, completed, active | arrived, flows, ends, deemed,
                   open_tasks, used, incidents, variables)


def _completed(events: list[Any]) -> set[str]:
    """Elements the history names as run to completion (as the auditors' diagram reads it)."""
    done: set[str] = set()
    for event in events:
        payload = event.payload or {}
        if event.kind == "instance:advanced":
            done.update(str(e) for e in payload.get("elements", []) or [])
        elif event.kind in diagrams.COMPLETING_KINDS and payload.get("bpmn_id"):
            done.add(str(payload["bpmn_id"]))
    return done


def _arrived(events: list[Any], structure: Structure) -> set[str]:
    """Elements a token waited at, even if it was taken away (a review its timer interrupted, a job an error
    path cancelled): `task:created`, `job:created`, and `timer:scheduled` of timers that are not boundary events
    (a boundary timer is armed, not arrived at)."""
    found: set[str] = set()
    for event in events:
        bpmn_id = str((event.payload or {}).get("bpmn_id") or "")
        if not bpmn_id:
            continue
        if event.kind in ("task:created", "job:created"):
            found.add(bpmn_id)
        elif event.kind == "timer:scheduled":
            node = structure.nodes.get(bpmn_id)
            if node is not None and node.type != "boundaryEvent":
                found.add(bpmn_id)
    return found


def _with_containers(active: set[str], structure: Structure) -> set[str]:
    """Open tasks and waiting timers, and the subprocesses holding them."""
    found = set(active)
    for element in active:
        node = structure.nodes.get(element)
        while node is not None and node.container:
            found.add(node.container)
            node = structure.nodes.get(node.container)
    return found
