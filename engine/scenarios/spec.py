"""Scenario files (`processes/tests/<process>_<scenario>.toml`): read and checked strictly, every mistake named.

The format is documented in processes/README.md ("Scenario tests"). A file says which process to start with what
data, what the clerks, the workers and the admin do at which working day, and what must be true at the end.
Unknown keys are errors (a typo must not silently test nothing).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import pairwise
from pathlib import Path
from typing import Any

from engine.calendar import SHANGHAI

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday, no holiday near
DEFAULT_TIME = time(10, 0)
DEFAULTS_FILE = "defaults.toml"  # shared by the scenarios of a directory: form data, start data per process
ACTIONS = ("complete", "job", "suspend", "resume", "terminate")
STATES = ("running", "completed", "terminated", "suspended")
ANSWERS = ("at_once", "at_due")


class ScenarioError(ValueError):
    """A scenario file that cannot be run as written."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = str(path), message


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as written
    day: int  # working days after the start date (day 0)
    at: time
    action: str | None  # None: only move the clock
    target: str | None = None  # task id (complete), topic (job), reason (suspend/resume/terminate)
    actor: str | None = None
    department: str | None = None
    data: dict[str, Any] | None = None  # form data (complete) or result variables (job)
    error: str | None = None  # job: BPMN error code
    message: str = ""
    fail: str | None = None  # job: technical failure message
    retries: int | None = None  # job failure: remaining retries (default 0: an incident)

    def describe(self) -> str:
        what = f"{self.action} {self.target}" if self.action else "advance"
        return f"step {self.number} (day {self.day} {self.at:%H:%M}, {what})"


@dataclass(frozen=True)
class Workers:
    handlers: bool = True  # run the handlers in workers/ for jobs no other rule covers
    hold: frozenset[str] = frozenset()  # topics whose jobs wait for a `job` step
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # topic -> result variables (no handler)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)  # topic -> {code, message, variables}


@dataclass(frozen=True)
class Autopilot:
    """Clerks nobody scripted: they complete every open task (not `silent`, not left to a step)."""

    answer: str = "at_once"  # at_once: when it opens; at_due: reviews one second before their committed due
    silent: frozenset[str] = frozenset()  # never completed: their timers decide
    late: dict[str, int] = field(default_factory=dict)  # review id -> working days after its committed due
    after: dict[str, int] = field(default_factory=dict)  # task id -> working days after it opened (10:00)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # form name -> form data
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> form data


@dataclass(frozen=True)
class Expect:
    state: str | None = None
    ends: frozenset[str] | None = None  # exactly these end events reached
    end: str | None = None  # this end event reached
    reached: frozenset[str] = frozenset()
    not_reached: frozenset[str] = frozenset()
    deemed: frozenset[str] | None = None  # exactly these reviews deemed approved
    working_days: int | None = None
    working_days_max: int | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # dotted path -> value
    open_tasks: frozenset[str] | None = None
    incidents: int | None = None


@dataclass(frozen=True)
class Scenario:
    path: Path
    process: str
    title: str
    bpmn: Path | None  # an explicit BPMN file; else the processes/ file whose process id is `process`
    start_at: datetime
    start_data: dict[str, Any]
    start_actor: str
    business_key: str | None
    applicants: list[dict[str, Any]]  # bureau profiles registered before the start (entered once)
    via_application: bool  # start through the online application (engine/bureau) instead of a bare start
    workers: Workers
    autopilot: Autopilot | None
    steps: list[Step]
    until_day: int | None
    expect: Expect
    form_data: dict[str, dict[str, Any]]  # form name -> default data (defaults.toml, then the file's own)

    @property
    def name(self) -> str:
        return self.path.stem


class _Table:
    """One TOML table being read: takes keys out and complains about what is left."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(path, f"{where or 'the file'} must be a table")
        self.path, self.where, self.data = path, where, dict(data)

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.path, f"{self._name(key)}: {message}")

    def take(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise ScenarioError(self.path, f"{self._name(key)} is missing")
            return default
        value = self.data.pop(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_kinds(kinds)}, not {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_kinds(kinds)}, not {value!r}")
        return value

    def table(self, key: str) -> _Table:
        return _Table(self.path, self._name(key), self.data.pop(key, {}))

    def ids(self, key: str) -> frozenset[str] | None:
        value = self.take(key, list)
        if value is None:
            return None
        if not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "expected a list of element ids")
        return frozenset(value)

    def days(self, key: str) -> dict[str, int]:
        value = self.take(key, dict, {})
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise self.error(f"{key}.{k}", f"expected a whole number of working days >= 0, not {v!r}")
        return dict(value)

    def objects(self, key: str) -> dict[str, dict[str, Any]]:
        value = self.take(key, dict, {})
        for k, v in value.items():
            if not isinstance(v, dict):
                raise self.error(f"{key}.{k}", "expected a table of form fields")
        return dict(value)

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(self._name(k) for k in sorted(self.data))
            raise ScenarioError(self.path, f"unknown key(s): {unknown}")


def _kinds(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", dict: "a table", list: "a list",
             datetime: "a date-time", date: "a date"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _time(table: _Table, key: str) -> time:
    text = table.take(key, str)
    if text is None:
        return DEFAULT_TIME
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
        raise table.error(key, f"expected HH:MM (Asia/Shanghai), not {text!r}")
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


def _start_at(table: _Table) -> datetime:
    value = table.take("start_at", (datetime, date, str))
    if value is None:
        return DEFAULT_START
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise table.error("start_at", f"expected a date-time such as 2026-03-02T09:00:00+08:00, not {value!r}") \
                from None
    if not isinstance(value, datetime):  # a bare date: 09:00 Shanghai
        value = datetime(value.year, value.month, value.day, 9, 0)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _step(path: Path, number: int, raw: Any) -> Step:
    t = _Table(path, f"steps[{number}]", raw)
    day = t.take("day", int, required=True)
    if day < 0:
        raise t.error("day", "working days count from 0 (the start date)")
    at = _time(t, "time")
    found = [a for a in ACTIONS if a in t.data]
    if len(found) > 1:
        raise ScenarioError(path, f"steps[{number}]: one action per step, not {' and '.join(found)}")
    action = found[0] if found else None
    target = t.take(action, str, required=True) if action else None
    if action in ("complete", "job") and not target:
        raise t.error(action, "names no task or topic")
    actor = t.take("as", str)
    department = t.take("department", str)
    data = t.take("data", dict) if action == "complete" else None
    error = message = fail = None
    retries = None
    if action == "job":
        data = t.take("result", dict)
        error, message = t.take("error", str), t.take("message", str, "")
        fail, retries = t.take("fail", str), t.take("retries", int)
        outcomes = [n for n, v in (("result", data), ("error", error), ("fail", fail)) if v is not None]
        if len(outcomes) != 1:
            raise ScenarioError(path, f"steps[{number}]: a job step needs exactly one of result, error, fail")
        if error is not None and "variables" in t.data:
            data = t.take("variables", dict)
    t.done()
    return Step(number, day, at, action, target, actor, department, data, error, message or "", fail, retries)


def _workers(t: _Table) -> Workers:
    hold = t.ids("hold") or frozenset()
    results = t.objects("results")
    errors_table = t.take("errors", dict, {})
    errors: dict[str, dict[str, Any]] = {}
    for topic, value in errors_table.items():
        if isinstance(value, str):
            value = {"code": value}
        e = _Table(t.path, f"{t.where}.errors.{topic}", value)
        errors[topic] = {"code": e.take("code", str, required=True), "message": e.take("message", str, ""),
                         "variables": e.take("variables", dict, {})}
        e.done()
    overlap = (set(results) & set(errors)) | (hold & (set(results) | set(errors)))
    if overlap:
        raise t.error(min(overlap), "a topic is held, scripted with a result or with an error: pick one")
    workers = Workers(t.take("handlers", bool, True), hold, results, errors)
    t.done()
    return workers


def _autopilot(t: _Table) -> Autopilot:
    answer = t.take("answer", str, "at_once")
    if answer not in ANSWERS:
        raise t.error("answer", f"expected one of {', '.join(ANSWERS)}, not {answer!r}")
    autopilot = Autopilot(answer, t.ids("silent") or frozenset(), t.days("late"), t.days("after"),
                          t.objects("data"), t.objects("tasks"))
    t.done()
    return autopilot


def _expect(t: _Table) -> Expect:
    state = t.take("state", str)
    if state is not None and state not in STATES:
        raise t.error("state", f"expected one of {', '.join(STATES)}, not {state!r}")
    expect = Expect(
        state=state, ends=t.ids("ends"), end=t.take("end", str), reached=t.ids("reached") or frozenset(),
        not_reached=t.ids("not_reached") or frozenset(), deemed=t.ids("deemed"),
        working_days=t.take("working_days", int), working_days_max=t.take("working_days_max", int),
        variables=t.take("variables", dict, {}), open_tasks=t.ids("open_tasks"), incidents=t.take("incidents", int))
    t.done()
    return expect


@dataclass(frozen=True)
class ProcessDefaults:
    via_application: bool = False
    applicants: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Defaults:
    """`defaults.toml` beside the scenarios: `[forms.<form>]` default form data, `[process.<key>]` start defaults
    (`via`, `applicants`, `data`) merged under each scenario of that process."""

    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, ProcessDefaults] = field(default_factory=dict)


def _via(table: _Table, default: str) -> bool:
    via = table.take("via", str, default)
    if via not in ("start", "application"):
        raise table.error("via", f"expected start or application, not {via!r}")
    return via == "application"


def _applicants(table: _Table) -> list[dict[str, Any]] | None:
    applicants = table.take("applicants", list)
    if applicants is not None and not all(isinstance(a, dict) for a in applicants):
        raise table.error("applicants", "expected a list of applicant profile tables")
    return applicants


def read_defaults(directory: Path) -> Defaults:
    path = directory / DEFAULTS_FILE
    if not path.is_file():
        return Defaults()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, f"not TOML: {exc}") from exc
    t = _Table(path, "", raw)
    forms = {k.removesuffix(".schema.json"): v for k, v in t.objects("forms").items()}
    processes: dict[str, ProcessDefaults] = {}
    for key, value in t.take("process", dict, {}).items():
        p = _Table(path, f"process.{key}", value)
        processes[key] = ProcessDefaults(_via(p, "start"), _applicants(p) or [], p.take("data", dict, {}))
        p.done()
    t.done()
    return Defaults(forms, processes)


def read_scenario(path: Path, *, defaults: Defaults | None = None) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, f"not TOML: {exc}") from exc
    t = _Table(path, "", raw)
    process = t.take("process", str, required=True)
    title = t.take("title", str, path.stem)
    bpmn_text = t.take("bpmn", str)
    bpmn = (path.parent / bpmn_text).resolve() if bpmn_text else None
    if bpmn is not None and not bpmn.is_file():
        raise t.error("bpmn", f"no file {bpmn}")
    start_at = _start_at(t)
    until_day = t.take("until_day", int)
    if until_day is not None and until_day < 0:
        raise t.error("until_day", "working days count from 0 (the start date)")
    defaults = defaults or Defaults()
    shared = defaults.processes.get(process, ProcessDefaults())
    s = t.table("start")
    start_data = {**shared.data, **s.take("data", dict, {})}
    start_actor = s.take("as", str, "window")
    business_key = s.take("business_key", str)
    via_application = _via(s, "application" if shared.via_application else "start")
    applicants = _applicants(s)
    applicants = shared.applicants if applicants is None else applicants
    s.done()
    workers = _workers(t.table("workers"))
    autopilot = _autopilot(t.table("autopilot")) if "autopilot" in t.data else None
    raw_steps = t.take("steps", list, [])
    steps = [_step(path, n, item) for n, item in enumerate(raw_steps, start=1)]
    for previous, step in pairwise(steps):
        if (step.day, step.at) < (previous.day, previous.at):
            raise ScenarioError(path, f"{step.describe()} comes before {previous.describe()}: write steps in "
                                      f"time order")
    expect = _expect(t.table("expect"))
    own_forms = t.objects("forms")
    t.done()
    forms = {**defaults.forms, **{k.removesuffix(".schema.json"): v for k, v in own_forms.items()}}
    return Scenario(path, process, title, bpmn, start_at, start_data, start_actor, business_key, applicants,
                    via_application, workers, autopilot, steps, until_day, expect, forms)


def scenario_files(paths: list[Path]) -> list[Path]:
    """Scenario files among PATHs (directories: their *.toml, without defaults.toml), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.glob("*.toml")) if p.name != DEFAULTS_FILE)
        else:
            found.append(path)
    return found
