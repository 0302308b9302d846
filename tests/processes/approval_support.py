"""Driving the approval processes through the real engine (services, workers with the bureau's records, timers)
on the test's simulated clock: an applicant with a profile applies; clerks complete tasks with valid form data;
`settle()` runs every claimable job and fires every due timer until nothing moves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.bureau import applicants, applications
from engine.bureau.catalog import current_catalog
from engine.bureau.deps import BureauDeps
from engine.bureau.notices import MemorySender
from engine.calendar import SHANGHAI
from engine.clock import SimulatedClock
from engine.dto import TaskOut
from engine.models import (
    AccountabilityRecord,
    EnforcementShare,
    Escalation,
    FormalDocumentObligation,
    HumanTask,
    InstanceEvent,
    Notice,
    Permit,
    Timer,
)
from engine.sdk import LocalBackend, WorkerRunner
from engine.services import human_tasks, instances, timers
from engine.services.commands import run_command
from tests.bureau.support import credit_code, profile
from tests.conftest import ROOT, engine_state

KEYS = ("commercial_project", "government_investment_project")
CAPS = {"commercial_project": 67, "government_investment_project": 96}
APPROVE = {"decision": "approve", "opinion": "同意"}
FORM_DATA: dict[str, dict[str, Any]] = {
    "intake_decision": {"decision": "accept"},
    "filing": {**APPROVE, "filing_no": "备2026-001"},
    "land_permit": {**APPROVE, "land_area_m2": 12000, "land_use": "commercial"},
    "investment_approval": {**APPROVE, "approved_investment_wan": 8000},
    "design_review": {**APPROVE, "expert_review": False},
    "review_opinion": APPROVE,
    "planning_permit": {**APPROVE, "building_area_m2": 36000},
    "cad_approval": {**APPROVE, "mode": "build", "shelter_area_m2": 3000},
    "eia": {**APPROVE, "category": "table"},
    "energy_review": {**APPROVE, "annual_energy_tce": 800},
    "water_permit": APPROVE,
    "drawing_review": {"decision": "approve", "opinion": "审查合格"},
    "fire_design": APPROVE,
    "construction_permit": {"decision": "approve", "opinion": "准予许可"},
    "permit_commitment": {"decision": "approve", "opinion": "据承诺准予许可", "commitment_signed": True},
    "post_check": {"commitment_true": True, "findings": "资金、合同均已落实", "checked_on": "2026-09-01"},
    "public_notice": {"started_on": "2026-04-01", "ended_on": "2026-04-07", "objections": 0, "result": "无异议"},
    "rongque_supply": {"materials": ["ZRZY-02-M3"], "received_on": "2026-03-05"},
    "withdrawal": {"reason": "项目投资计划调整", "confirmed": True},
    "correction": {"action": "supplied", "materials": ["CK-01-M2"]},
    "joint_meeting": {"decision": "approve", "attendees": ["nrp", "water"], "minutes": "分歧已协调"},
    "expert_review": {"conclusion": "pass", "experts": ["王工", "赵工", "刘工"], "opinion": "同意"},
    "revision": {"summary": "按意见修改", "materials": ["ZRZY-04-M1"]},
    "consultation": {"departments": ["nrp", "hc"], "summary": "已一次性告知", "preconditions_explained": True},
}
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday


class Approval:
    """One test's world: both processes deployed, a notice sender that keeps what it sends, in-process workers."""

    def __init__(self, app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> None:
        self.state = engine_state(app)
        self.clock = clock
        clock.set(START)
        for key in KEYS:
            deploy(key)
        self.sender = MemorySender()
        self.deps = BureauDeps(self.state.sessions, self.state.ctx, clock, sender=self.sender)
        import workers

        self.runner = WorkerRunner(self.state.settings, workers.ROUTERS, backend=LocalBackend(self.state),
                                   deps=self.deps, worker_id="test-worker", topics=["*"])
        self.instance_id = ""
        self.key = ""
        self.started_at = START

    # --- setting up --------------------------------------------------------------------------------------------

    def applicant(self, serial: int = 1) -> str:
        code = credit_code(serial)
        run_command(self.state.sessions, lambda s: applicants.submit_profile(
            s, self.state.ctx.forms_dir, profile(code), actor="applicant", now=self.clock.now()))
        return code

    def materials(self, key: str, missing: tuple[str, ...] = ()) -> list[str]:
        with self.state.sessions() as s:
            catalog = current_catalog(s, ROOT / "processes")
        return [m.code for matter in catalog.matters_for(key) for m in matter.materials if m.code not in missing]

    def apply(self, key: str, code: str | None = None, *, missing: tuple[str, ...] = (),
              **application: Any) -> str:
        code = code or self.applicant()
        data = {"credit_code": code, "project_name": "呼和浩特示范综合体项目", "materials": self.materials(key, missing),
                "channel": "online", **application}
        self.key, self.started_at = key, self.clock.now()
        self.instance_id = run_command(self.state.sessions, lambda s: applications.submit(
            s, self.state.ctx, key, data, actor="applicant", now=self.clock.now())).id
        self.settle()
        return self.instance_id

    # --- moving ------------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Run every claimable job and fire every due timer, until nothing moves."""
        while True:
            ran = self.runner.run_until_idle()
            fired = timers.fire_due(self.state.sessions, self.state.ctx, self.clock.now(), 100)
            if not ran and not fired.fired:
                return

    def at(self, when: datetime) -> None:
        if when < self.clock.now():
            raise AssertionError(f"the test clock does not go back ({when} < {self.clock.now()})")
        self.clock.set(when)
        self.settle()

    def after_working_days(self, n: int, hour: int = 10) -> None:
        """Move to `hour` o'clock on the Nth working day after today (Shanghai)."""
        with self.state.sessions() as s:
            calendar = self.state.ctx.calendars.get(s)
        today = self.clock.now().astimezone(SHANGHAI).date()
        day = calendar.add_working_days(today, n).date
        self.at(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))

    def tasks(self) -> dict[str, TaskOut]:
        with self.state.sessions() as s:
            return {t.bpmn_id: t for t in human_tasks.list_tasks(s, instance_id=self.instance_id, limit=200)}

    def complete(self, bpmn_id: str, data: dict[str, Any] | None = None, **changes: Any) -> None:
        task = self.tasks().get(bpmn_id)
        if task is None:
            raise AssertionError(f"{bpmn_id} is not open; open: {sorted(self.tasks())}")
        values = {**(data if data is not None else FORM_DATA[task.form_key.removesuffix(".schema.json")]),
                  **changes}
        department = (task.candidate_groups or ["window"])[0]
        run_command(self.state.sessions, lambda s: human_tasks.complete(
            s, self.state.ctx, task.id, values, actor=f"clerk.{department}", now=self.clock.now()))
        self.settle()

    def complete_open(self, *, skip: tuple[str, ...] = ("withdraw",), until: str | None = None,
                      decisions: dict[str, dict[str, Any]] | None = None, limit: int = 200) -> None:
        """Complete open tasks (default data) until none is left but `skip`, or `until` is open."""
        for _ in range(limit):
            open_tasks = [t for t in self.tasks() if t not in skip]
            if until in open_tasks or not open_tasks:
                return
            bpmn_id = min(open_tasks)
            self.complete(bpmn_id, (decisions or {}).get(bpmn_id))
        raise AssertionError("tasks keep coming")

    def calendar(self) -> Any:
        with self.state.sessions() as s:
            return self.state.ctx.calendars.get(s)

    def due(self, bpmn_id: str) -> datetime | None:
        """The committed due of an open review: its limit timer's due time (shifted by pauses; None while the
        clock is paused), or the limit counted from its creation once that timer has fired."""
        task = self.tasks()[bpmn_id]
        with self.state.sessions() as s:
            row = s.get(HumanTask, task.id)
            assert row is not None
            key = bpmn_id.removeprefix("review_")
            timer = s.scalars(select(Timer).where(Timer.instance_id == self.instance_id,
                                                  Timer.bpmn_id.in_([f"deadline_{key}", f"overdue_{key}"]),
                                                  Timer.status == "waiting")).first()
            if timer is not None:
                return timer.due_at
            calendar = self.state.ctx.calendars.get(s)
            return calendar.deadline(row.created_at, int(row.properties["limit_committed_wd"])).due_at

    def next_timer(self) -> datetime | None:
        with self.state.sessions() as s:
            dues = [t.due_at for t in s.scalars(select(Timer).where(Timer.instance_id == self.instance_id,
                                                                    Timer.status == "waiting"))
                    if t.due_at is not None]
        return min(dues) if dues else None

    def finish(self, *, late: dict[str, int] | None = None, silent: tuple[str, ...] = (),
               after: dict[str, int] | None = None, data: dict[str, dict[str, Any]] | None = None,
               until: str | None = None) -> None:
        """Play the clerks and the applicant until the instance has nothing left to do, on a clock that moves
        from event to event like a real scheduler's: every review answers one second before its committed due
        (the latest on-time moment), or `late[id]` working days after it; `silent` tasks are never answered (their
        timers decide); tasks without a limit are done at once, or `after[id]` working days after they opened
        (10:00); a due timer fires on its due time. `data[id]` replaces a task's default form data. With
        `until`, stop as soon as that task is open."""
        late, after, data = dict(late or {}), dict(after or {}), dict(data or {})
        calendar = self.calendar()
        for _ in range(400):
            now = self.clock.now()
            plans: dict[str, datetime] = {}
            open_tasks = self.tasks()
            if until is not None and until in open_tasks:
                return
            for bpmn_id, task in open_tasks.items():
                if bpmn_id == "withdraw" or bpmn_id in silent:
                    continue
                if bpmn_id in after:
                    opened = datetime.fromisoformat(task.created_at or now.isoformat()).astimezone(SHANGHAI)
                    day = calendar.add_working_days(opened.date(), after[bpmn_id]).date
                    plans[bpmn_id] = max(now, datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI))
                elif not (task.properties or {}).get("limit_committed_wd"):
                    plans[bpmn_id] = now
                else:
                    due = self.due(bpmn_id)
                    if due is None:
                        continue  # the clock is paused: this review cannot be late now
                    when = due - timedelta(seconds=1)
                    if bpmn_id in late:
                        when = calendar.deadline(due, late[bpmn_id]).due_at - timedelta(hours=12)
                    plans[bpmn_id] = max(now, when)
            timer = self.next_timer()
            if not plans and timer is None:
                return
            bpmn_id = min(plans, key=lambda k: (plans[k], k)) if plans else None
            if bpmn_id is None or (timer is not None and timer <= plans[bpmn_id]):
                self.at(max(now, timer))  # type: ignore[type-var]
                continue
            self.at(plans[bpmn_id])
            late.pop(bpmn_id, None)
            after.pop(bpmn_id, None)
            self.complete(bpmn_id, data.pop(bpmn_id, None))
        raise AssertionError("the instance never settles")

    # --- looking -----------------------------------------------------------------------------------------------

    def describe(self) -> Any:
        with self.state.sessions() as s:
            return instances.describe(s, self.state.ctx, self.instance_id)

    @property
    def variables(self) -> dict[str, Any]:
        """The instance's data: at the end its final variables; while running, what its open tasks see."""
        described = self.describe()
        if described.status != "running":
            return described.variables
        from engine.bpmn import runtime
        from engine.services import execution

        with self.state.sessions() as s:
            loaded = execution.load(s, self.state.ctx, instances.get_instance(s, self.instance_id))
            return runtime.open_task_data(loaded.workflow)

    def reached(self) -> set[str]:
        with self.state.sessions() as s:
            return {e for ev in s.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == self.instance_id,
                                                                      InstanceEvent.kind == "instance:advanced"))
                    for e in ev.payload["elements"]}

    def created_tasks(self) -> set[str]:
        with self.state.sessions() as s:
            return set(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == self.instance_id)))

    def rows(self, model: type) -> list[Any]:
        with self.state.sessions() as s:
            query = select(model)
            if hasattr(model, "instance_id"):
                query = query.where(model.instance_id == self.instance_id)  # type: ignore[attr-defined]
            return list(s.scalars(query))

    def notices(self) -> list[str]:
        return [n.kind for n in sorted(self.rows(Notice), key=lambda n: (n.created_at, n.number))]

    def working_days_used(self) -> int:
        """Working days from the start to now (the start's date is day 0)."""
        with self.state.sessions() as s:
            calendar = self.state.ctx.calendars.get(s)
        return calendar.working_days_between(self.started_at.astimezone(SHANGHAI).date(),
                                             self.clock.now().astimezone(SHANGHAI).date())


__all__ = [
    "CAPS",
    "KEYS",
    "AccountabilityRecord",
    "Approval",
    "EnforcementShare",
    "Escalation",
    "FormalDocumentObligation",
    "Permit",
]
