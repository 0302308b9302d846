"""Timer event definitions that read the engine's clock and calendar, and fire at `due <= now`.

Stock Spiff timers `eval` their text, read `datetime.now()` and fire at `due < now` (DESIGN.md §5). Ours:
- take a bare ISO literal or a sandboxed expression (`timer_values`);
- compute the due time from `current_now()` on the timer's calendar (`workday` | `natural`), taken from the
  event's `calendar` property, else the enclosing (sub)process's, else natural;
- keep their engine facts in the task's internal data under `engine_timer`: calendar, pausable, provisional,
  the working-day basis and `paused_on` (a paused timer never fires; see `timer_ops`).

The calendar reaches the specs through the workflow (`bind_calendar`), like the script engine: services bind
the calendar holding the operator-loaded schedules when they load an instance. Unbound workflows (pure runtime
use) get the packaged data and the provisional rule.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import first, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.task import Task as SpiffTask

from engine.bpmn import script_env
from engine.bpmn.now import current_now
from engine.bpmn.properties import element_properties, inherited_property
from engine.bpmn.timer_values import (
    CALENDARS,
    NATURAL,
    WORKDAY,
    Basis,
    Due,
    TimerTextError,
    check_cycle,
    check_duration,
    cycle_plan,
    date_due,
    duration_due,
    is_literal,
    parse_datetime,
    workday_due,
)
from engine.calendar import WorkCalendar
from engine.errors import SandboxViolation

INFO = "engine_timer"
_CALENDAR_ATTR = "_engine_calendar"


@functools.cache
def _default_calendar() -> WorkCalendar:
    return WorkCalendar()


def bind_calendar(workflow: BpmnWorkflow, calendar: WorkCalendar) -> None:
    """Give a workflow's timers the calendar to count working days with (not serialized; bind after load)."""
    setattr(workflow, _CALENDAR_ATTR, calendar)


def calendar_of(workflow: Any) -> WorkCalendar:
    calendar = getattr(workflow.top_workflow, _CALENDAR_ATTR, None)
    return calendar if calendar is not None else _default_calendar()


def _fail(my_task: SpiffTask, message: str) -> WorkflowTaskException:
    return WorkflowTaskException(f"timer {my_task.task_spec.bpmn_id}: {message}", task=my_task)


class EngineTimer(TimerEventDefinition):
    """What our three timer kinds share: the text, the calendar and the `engine_timer` facts."""

    def __init__(self, name: str, expression: str, calendar: str = NATURAL, pausable: bool | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, expression, **kwargs)
        self.calendar = calendar
        self.pausable = (calendar == WORKDAY) if pausable is None else pausable

    def text(self, my_task: SpiffTask) -> str:
        """The literal: the text itself, or the value of the expression (a string holding a literal)."""
        if is_literal(self.expression):
            return self.expression.strip()
        value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        if not isinstance(value, str) or not is_literal(value):
            raise _fail(my_task, f"expression {self.expression!r} gave {value!r}, not an ISO 8601 literal string")
        return value.strip()

    def start_info(self, due: Due) -> dict[str, Any]:
        return {
            "calendar": self.calendar,
            "pausable": self.pausable,
            "provisional": due.provisional,
            "basis": due.basis.to_json() if due.basis else None,
            "paused_on": None,
        }

    def __eq__(self, other: object) -> bool:
        return (super().__eq__(other) and isinstance(other, EngineTimer)
                and (self.calendar, self.pausable) == (other.calendar, other.pausable))

    __hash__ = None  # type: ignore[assignment]


class _SingleShot(EngineTimer):
    """Date and duration timers: one due time, fired once at `due <= now` unless paused."""

    def first_due(self, my_task: SpiffTask, now: datetime) -> Due:
        raise NotImplementedError

    def has_fired(self, my_task: SpiffTask) -> bool:
        now = current_now()
        info = my_task._get_internal_data(INFO)
        if info is None or my_task._get_internal_data("event_value") is None:
            try:
                due = self.first_due(my_task, now)
            except TimerTextError as exc:
                raise _fail(my_task, str(exc)) from None
            info = self.start_info(due)
            my_task._set_internal_data(event_value=due.at.isoformat(), **{INFO: info})
        if not info.get("paused_on"):
            due_at = datetime.fromisoformat(my_task._get_internal_data("event_value"))
            if due_at <= now:
                my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class EngineTimeDate(_SingleShot, TimeDateEventDefinition):
    def first_due(self, my_task: SpiffTask, now: datetime) -> Due:
        return date_due(self.text(my_task), self.calendar)


class EngineDuration(_SingleShot, DurationTimerEventDefinition):
    def first_due(self, my_task: SpiffTask, now: datetime) -> Due:
        return duration_due(self.text(my_task), self.calendar, now, calendar_of(my_task.workflow))


class EngineCycle(EngineTimer, CycleTimerEventDefinition):
    """Repeating timers: each period that passes (`next <= now`) spawns one run of the outgoing path."""

    def cycle_complete(self, my_task: SpiffTask) -> bool:
        now = current_now()
        cal = calendar_of(my_task.workflow)
        value = my_task._get_internal_data("event_value")
        info = my_task._get_internal_data(INFO)
        if value is None or info is None:
            try:
                plan = cycle_plan(self.text(my_task), self.calendar, now, cal)
            except TimerTextError as exc:
                raise _fail(my_task, str(exc)) from None
            value = {"cycles": plan.cycles, "next": plan.first.at.isoformat(),
                     "duration": plan.period.total_seconds() if plan.period else None, "days": plan.days}
            info = self.start_info(plan.first)
        ready = False
        if value["cycles"] != 0:
            due_at = datetime.fromisoformat(value["next"])
            if not info.get("paused_on") and due_at <= now:
                if value.get("days") is not None:
                    following = workday_due(cal, Basis(due_at, int(value["days"]), eod=True))
                    value["next"] = following.at.isoformat()
                    info = {**info, "provisional": following.provisional,
                            "basis": following.basis.to_json() if following.basis else None}
                else:
                    value["next"] = (due_at + timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                info = {**info, "fires": info.get("fires", 0) + 1}
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task._set_internal_data(event_fired=True, **{INFO: info})
            return False
        my_task._set_internal_data(event_value=value, **{INFO: info})
        return ready


# --- parsing ---------------------------------------------------------------------------------------------------

_KINDS: tuple[tuple[str, type[EngineTimer]], ...] = (
    ("timeDate", EngineTimeDate), ("timeDuration", EngineDuration), ("timeCycle", EngineCycle))


def _check_literal(tag: str, text: str, calendar: str) -> None:
    if tag == "timeDate":
        parse_datetime(text)
    elif tag == "timeDuration":
        check_duration(text, calendar)
    else:
        check_cycle(text, calendar)


def timer_settings(node: etree._Element) -> tuple[str, bool | None]:
    """(calendar, pausable) of a timer event element; raises ValueError naming a bad value."""
    props = element_properties(node)
    calendar = (props.get("calendar") or inherited_property(node, "calendar") or NATURAL).strip()
    if calendar not in CALENDARS:
        raise ValueError(f"calendar must be one of {', '.join(CALENDARS)}, not {calendar!r}")
    pausable_text = props.get("pausable")
    pausable: bool | None = None
    if pausable_text is not None:
        if pausable_text.strip().lower() not in ("true", "false"):
            raise ValueError(f"pausable must be true or false, not {pausable_text!r}")
        pausable = pausable_text.strip().lower() == "true"
        if pausable and calendar != WORKDAY:
            raise ValueError("pausable applies to workday timers only (natural time does not pause)")
    return calendar, pausable


class _TimerParsing:
    """Replaces Spiff's `parse_timer_event` (which wraps everything in 'Time Specification Error')."""

    node: etree._Element
    filename: str

    def parse_timer_event(self, event: etree._Element) -> EngineTimer:
        description = self.get_event_description(event)  # type: ignore[attr-defined]
        name = self.node.get("name", self.node.get("id"))
        try:
            calendar, pausable = timer_settings(self.node)
        except ValueError as exc:
            raise ValidationException(f"timer {self.node.get('id')}: {exc}", node=self.node,
                                      file_name=self.filename) from None
        for tag, cls in _KINDS:
            found = first(self.xpath(f".//bpmn:{tag}"))  # type: ignore[attr-defined]
            if found is None:
                continue
            text = (found.text or "").strip()
            if not text:
                raise ValidationException(f"timer {self.node.get('id')}: empty {tag}", node=self.node,
                                          file_name=self.filename)
            try:
                if is_literal(text):
                    _check_literal(tag, text, calendar)
                else:
                    script_env.compile_expression(text)
            except (TimerTextError, SandboxViolation) as exc:
                detail = exc.detail if isinstance(exc, SandboxViolation) else str(exc)
                raise ValidationException(f"timer {self.node.get('id')} {tag}: {detail}", node=self.node,
                                          file_name=self.filename) from None
            return cls(name, text, calendar=calendar, pausable=pausable, description=description)
        raise ValidationException(f"timer {self.node.get('id')}: needs a timeDate, timeDuration or timeCycle",
                                  node=self.node, file_name=self.filename)


class EngineBoundaryEventParser(_TimerParsing, SpiffBoundaryEventParser):
    pass


class EngineIntermediateCatchEventParser(_TimerParsing, SpiffIntermediateCatchEventParser):
    pass


class EngineStartEventParser(_TimerParsing, SpiffStartEventParser):
    pass


TIMER_PARSER_CLASSES = {
    full_tag("boundaryEvent"): (EngineBoundaryEventParser, BoundaryEvent),
    full_tag("intermediateCatchEvent"): (EngineIntermediateCatchEventParser, IntermediateCatchEvent),
    full_tag("startEvent"): (EngineStartEventParser, StartEvent),
}


# --- serialization -----------------------------------------------------------------------------------------------


class EngineTimerConverter(TimerConditionalEventDefinitionConverter):
    def to_dict(self, event_definition: EngineTimer) -> dict[str, Any]:
        dct = super().to_dict(event_definition)
        dct["calendar"] = event_definition.calendar
        dct["pausable"] = event_definition.pausable
        return dct


TIMER_CONVERTERS = {EngineTimeDate: EngineTimerConverter, EngineDuration: EngineTimerConverter,
                    EngineCycle: EngineTimerConverter}
