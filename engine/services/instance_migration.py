"""Move running instances of a process from one deployed version to another (`approvals migrate`).

A dry run loads each instance, migrates a throw-away copy of its workflow and reports whether it can move and
what changes. The real run is one command per instance, in its own transaction: lock, load, migrate the Spiff
workflow (engine/bpmn/migration.py keeps data and timer due times), point the instance at the target version,
re-sync the human-task, timer and job rows to the new element ids and properties, and record
`instance:migrated` (from/to versions and the element map) before persisting, so replay re-applies it
(engine/services/migration_replay.py). Instances that cannot move are reported and left as they are.

Open tasks keep their SLA due dates and waiting timers their due times: a limit changed in the new version
applies to tasks and timers that start after the move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.bpmn import migration, runtime
from engine.bpmn.parsing import ParsedProcess
from engine.bpmn.serialization import load_workflow
from engine.errors import EngineError, InstanceNotRunning, InvalidInput, MigrationRefused
from engine.models import (
    OPEN_JOB_STATUSES,
    EventKind,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    ServiceJob,
    Timer,
    TimerStatus,
)
from engine.services import calendars, execution
from engine.services.commands import run_command
from engine.services.context import EngineContext
from engine.services.definition_diff import definition_version, diff_versions, structure_of
from engine.services.history import format_at

MIGRATABLE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)


@dataclass
class InstancePlan:
    """One instance in a migration: whether it can move (or moved), and what changes for it."""

    instance_id: str
    business_key: str | None
    status: str
    from_version: int
    to_version: int
    problems: list[str] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)  # active elements: from, to, state, due_at
    dropped: list[str] = field(default_factory=list)  # finished elements the target no longer has
    changed: list[dict[str, Any]] = field(default_factory=list)  # active elements whose definition changed
    notes: list[str] = field(default_factory=list)  # what the move leaves for later (see _notes)
    migrated: bool = False

    @property
    def movable(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "business_key": self.business_key, "status": self.status,
                "from": self.from_version, "to": self.to_version, "movable": self.movable,
                "migrated": self.migrated, "problems": self.problems, "moved": self.moved,
                "dropped": self.dropped, "changed": self.changed, "notes": self.notes}


def read_map(text: str, *, source: str = "map") -> dict[str, str]:
    """A TOML element map: `old_id = "new_id"` lines (optionally under a `[map]` table)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not TOML: {exc}") from exc
    table = data.get("map", data) if set(data) <= {"map"} else data
    if not isinstance(table, dict):
        raise InvalidInput(f"{source}: expected old_id = \"new_id\" entries")
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise InvalidInput(f"{source}: {bad[0]} must map to an element id string")
    return dict(table)


def _label(definition: ProcessDefinition) -> str:
    return f"v{definition.version}"


def _moved_json(before: migration.ActiveElement, after: migration.ActiveElement) -> dict[str, Any]:
    return {"from": before.bpmn_id, "to": after.bpmn_id, "state": after.state.lower(),
            "due_at": format_at(after.due_at) if after.due_at else None}


def _changed_elements(session: Session, key: str, source: ProcessDefinition, target: ProcessDefinition,
                      outcome: migration.MigrationOutcome) -> list[dict[str, Any]]:
    """Active elements whose definition differs in the target (a new form, department, limit, name...)."""
    diff = diff_versions(session, key, source.version, target.version)
    by_id = {c.id: c for c in diff.elements_changed}
    out = []
    for before, after in outcome.moved:
        if before.bpmn_id != after.bpmn_id:
            old, new = source.elements.get(before.bpmn_id) or {}, target.elements.get(after.bpmn_id) or {}
            changes = {k: {"from": old.get(k), "to": new.get(k)} for k in sorted(set(old) | set(new))
                       if old.get(k) != new.get(k)}
            if changes:  # the rename itself shows in `moved`
                out.append({"id": after.bpmn_id, "renamed_from": before.bpmn_id, "changes": changes})
        elif before.bpmn_id in by_id:
            out.append(by_id[before.bpmn_id].to_json())
    return out


def _notes(source: ProcessDefinition, target: ProcessDefinition, outcome: migration.MigrationOutcome,
           id_map: Mapping[str, str]) -> list[str]:
    """What the move does not do by itself: boundary events the target adds to an element that is already open or
    running are armed only when that element starts again."""
    old, new = structure_of(source), structure_of(target)
    notes = []
    for before, after in outcome.moved:
        if before.state.lower() not in ("ready", "started"):
            continue
        had = {id_map.get(n.id, n.id) for n in old.nodes.values() if n.attached_to == before.bpmn_id}
        added = sorted(n.id for n in new.nodes.values() if n.attached_to == after.bpmn_id and n.id not in had)
        if added:
            notes.append(f"{after.bpmn_id}: v{target.version} attaches {', '.join(added)}; it applies when "
                         f"{after.bpmn_id} starts again, not to the one open now")
    return notes


def _plan(instance: ProcessInstance, source: ProcessDefinition, target: ProcessDefinition) -> InstancePlan:
    return InstancePlan(instance.id, instance.business_key, instance.status, source.version, target.version)


def _check_instance(instance: ProcessInstance, source: ProcessDefinition, *, from_version: int | None,
                    to_version: int) -> None:
    if instance.status not in MIGRATABLE:
        raise InstanceNotRunning(f"instance {instance.id} is {instance.status}: only running or suspended "
                                 f"instances move")
    if from_version is not None and source.version != from_version:
        raise MigrationRefused(f"instance {instance.id} is on {source.process_key} v{source.version}, not "
                               f"v{from_version}", problems=[f"the instance is on v{source.version}"])
    if source.version == to_version:
        raise InvalidInput(f"instance {instance.id} is already on {source.process_key} v{to_version}")


def _targets(session: Session, ctx: EngineContext, key: str, from_version: int, to_version: int,
             id_map: Mapping[str, str]) -> tuple[ProcessDefinition, ProcessDefinition, ParsedProcess, dict[str, str]]:
    if from_version == to_version:
        raise InvalidInput(f"--from and --to are both v{from_version}: nothing to migrate")
    source = definition_version(session, key, from_version)
    target = definition_version(session, key, to_version)
    parsed_target = ctx.specs.get(target)
    clean_map = migration.check_map(id_map, ctx.specs.get(source), parsed_target)
    return source, target, parsed_target, clean_map


def plan_instance(session: Session, ctx: EngineContext, instance: ProcessInstance, *, to_version: int,
                  id_map: Mapping[str, str], now: datetime) -> InstancePlan:
    """The dry run for one instance: migrate a copy of its workflow in memory; nothing is written."""
    source = session.get(ProcessDefinition, instance.definition_id)
    assert source is not None  # FK
    source, target, parsed_target, clean_map = _targets(session, ctx, instance.process_key, source.version,
                                                        to_version, id_map)
    plan = _plan(instance, source, target)
    parsed_source = ctx.specs.get(source)
    workflow = load_workflow(instance.state_json, parsed_source.spec, parsed_source.subprocess_specs)
    runtime.bind_calendar(workflow, calendars.current(session, ctx))
    try:
        outcome = migration.migrate(workflow, parsed_target, clean_map, now, target_label=_label(target))
    except MigrationRefused as exc:
        plan.problems = exc.problems or [exc.detail]
        return plan
    plan.moved = [_moved_json(b, a) for b, a in outcome.moved]
    plan.dropped = outcome.dropped
    plan.changed = _changed_elements(session, instance.process_key, source, target, outcome)
    plan.notes = _notes(source, target, outcome, clean_map)
    return plan


def _resync_rows(session: Session, instance: ProcessInstance, target: ParsedProcess,
                 outcome: migration.MigrationOutcome) -> None:
    """Rows of open tasks, waiting timers and open jobs follow their elements' new ids and definitions."""
    new_ids = {after.spiff_task_id: after.bpmn_id for _before, after in outcome.moved}
    for task in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == HumanTaskStatus.OPEN)):
        bpmn_id = new_ids.get(task.spiff_task_id, task.bpmn_id)
        info = target.elements.get(bpmn_id)
        task.bpmn_id = bpmn_id
        if info is not None:
            task.name, task.form_key, task.lane = info.name, info.form, info.lane
            task.candidate_groups, task.properties = list(info.candidate_groups), dict(info.properties)
    for timer in session.scalars(select(Timer).where(Timer.instance_id == instance.id,
                                                     Timer.status == TimerStatus.WAITING)):
        timer.bpmn_id = new_ids.get(timer.spiff_task_id, timer.bpmn_id)
    for job in session.scalars(select(ServiceJob).where(ServiceJob.instance_id == instance.id,
                                                        ServiceJob.status.in_(OPEN_JOB_STATUSES))):
        job.bpmn_id = new_ids.get(job.spiff_task_id, job.bpmn_id)
        info = target.elements.get(job.bpmn_id)
        if info is not None and info.topic:
            job.topic = info.topic


def migrate_instance(session: Session, ctx: EngineContext, instance_id: str, *, to_version: int,
                     id_map: Mapping[str, str], actor: str, now: datetime,
                     from_version: int | None = None) -> InstancePlan:
    """Move one instance to `to_version` of its process (a command: lock, load, migrate, sync rows, event, save).
    With `from_version`, only if it is still on that version. Raises `MigrationRefused` (nothing changed) when it
    cannot move."""
    instance = execution.lock_instance(session, instance_id)
    source = session.get(ProcessDefinition, instance.definition_id)
    assert source is not None  # FK
    _check_instance(instance, source, from_version=from_version, to_version=to_version)
    source, target, parsed_target, clean_map = _targets(session, ctx, instance.process_key, source.version,
                                                        to_version, id_map)
    loaded = execution.load(session, ctx, instance)
    outcome = migration.migrate(loaded.workflow, parsed_target, clean_map, now, target_label=_label(target))
    plan = _plan(instance, source, target)
    plan.moved = [_moved_json(b, a) for b, a in outcome.moved]
    plan.dropped = outcome.dropped
    plan.changed = _changed_elements(session, instance.process_key, source, target, outcome)
    plan.notes = _notes(source, target, outcome, clean_map)
    plan.migrated = True
    execution.record(session, ctx, instance.id, EventKind.INSTANCE_MIGRATED, actor=actor, now=now, payload={
        "key": instance.process_key, "from_version": source.version, "to_version": target.version,
        "from_definition_id": source.id, "to_definition_id": target.id, "map": clean_map,
        "moved": plan.moved, "dropped": plan.dropped})
    instance.definition_id = target.id
    _resync_rows(session, instance, parsed_target, outcome)
    migrated = execution.Loaded(instance, target, parsed_target, loaded.workflow)
    execution.persist(session, ctx, migrated, runtime.snapshot(loaded.workflow), actor=actor, now=now)
    return plan


def candidates(session: Session, key: str, from_version: int) -> list[ProcessInstance]:
    """Running and suspended instances on KEY vFROM, oldest first."""
    source = definition_version(session, key, from_version)
    return list(session.scalars(select(ProcessInstance).where(
        ProcessInstance.definition_id == source.id, ProcessInstance.status.in_(MIGRATABLE))
        .order_by(ProcessInstance.started_at, ProcessInstance.id)))


def migrate_all(sessions: sessionmaker[Session], ctx: EngineContext, key: str, *, from_version: int,
                to_version: int, id_map: Mapping[str, str], actor: str, now: datetime,
                dry_run: bool) -> list[InstancePlan]:
    """Every running or suspended instance on vFROM: planned (dry run) or moved, each in its own transaction."""
    with sessions() as session:
        _targets(session, ctx, key, from_version, to_version, id_map)  # bad versions or map: refuse up front
        ids = [i.id for i in candidates(session, key, from_version)]
    plans = []
    for instance_id in ids:
        with sessions() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            plan = plan_instance(session, ctx, instance, to_version=to_version, id_map=id_map, now=now)
        if dry_run or not plan.movable:
            plans.append(plan)
            continue
        try:
            plans.append(run_command(sessions, lambda s, i=instance_id: migrate_instance(
                s, ctx, i, to_version=to_version, id_map=id_map, actor=actor, now=now, from_version=from_version)))
        except EngineError as exc:  # changed since the plan (completed, or no longer movable)
            plan.problems = getattr(exc, "problems", None) or [exc.detail]
            plans.append(plan)
    return plans
