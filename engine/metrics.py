"""In-process metrics: counters and histograms rendered in the Prometheus text format (for `/metrics`).

Process-wide by nature (like `logging`): each process exports its own series; a scrape of every process sums them.
Thread-safe; nothing here reads the wall clock.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

_LOCK = threading.Lock()


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        with _LOCK:
            self._value += amount

    @property
    def value(self) -> float:
        return self._value

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter", f"{self.name} {self._value:g}"]


class LabelledCounter:
    """A counter per combination of label values, e.g. `{command="tasks.complete",outcome="ok"}`."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str]) -> None:
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes the labels {', '.join(self.labels)}")
        key = tuple(str(labels[name]) for name in self.labels)
        with _LOCK:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(str(labels[name]) for name in self.labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with _LOCK:
            for key in sorted(self._values):
                pairs = ",".join(f'{name}="{_escape(value)}"' for name, value in zip(self.labels, key))
                lines.append(f"{self.name}{{{pairs}}} {self._values[key]:g}")
        return lines


def _escape(value: str) -> str:
    """Label values in the text format escape backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name, self.help = name, help_text
        self.buckets = sorted(buckets)
        self._counts = [0] * (len(self.buckets) + 1)  # last: +Inf
        self._sum = 0.0
        self._count = 0

    def observe(self, value: float) -> None:
        with _LOCK:
            self._counts[bisect.bisect_left(self.buckets, value)] += 1
            self._sum += value
            self._count += 1

    @property
    def count(self) -> int:
        return self._count

    @property
    def sum(self) -> float:
        return self._sum

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with _LOCK:
            running = 0
            for bound, count in zip(self.buckets, self._counts):
                running += count
                lines.append(f'{self.name}_bucket{{le="{bound:g}"}} {running}')
            lines.append(f'{self.name}_bucket{{le="+Inf"}} {self._count}')
            lines.append(f"{self.name}_sum {self._sum:g}")
            lines.append(f"{self.name}_count {self._count}")
        return lines


# The engine's series (declarative, like a Blueprint).
TIMER_LAG = Histogram("approvals_timer_lag_seconds", "Timer fire time minus due time (engine clock)",
                      [0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400])
TIMERS_FIRED = Counter("approvals_timers_fired_total", "Timers fired")
TIMER_INCIDENTS = Counter("approvals_timer_incidents_total", "Timer firings that failed and became incidents")
TIMER_TICKS = Counter("approvals_timer_ticks_total", "Scheduler ticks run")

# Commands through the HTTP API (the `@unit_of_work` views): `command` is the endpoint (e.g. `tasks.complete`),
# `outcome` ok | rejected (4xx) | busy (503 after conflicts) | failed (5xx).
COMMANDS = LabelledCounter("approvals_commands_total", "API commands by endpoint and outcome", ["command", "outcome"])
COMMAND_CONFLICTS = Counter("approvals_command_conflicts_total",
                            "API commands re-applied after a version conflict")
# Service jobs, counted when the transaction that did it commits: fetched | completed | failed | bpmn_error.
JOBS = LabelledCounter("approvals_jobs_total", "Service jobs fetched, completed, failed or ended by a BPMN error",
                       ["event"])
HTTP_ERRORS = LabelledCounter("approvals_http_errors_total", "HTTP responses with a 4xx or 5xx status", ["status"])

REGISTRY: list[Counter | LabelledCounter | Histogram] = [
    TIMER_LAG, TIMERS_FIRED, TIMER_INCIDENTS, TIMER_TICKS, COMMANDS, COMMAND_CONFLICTS, JOBS, HTTP_ERRORS]


def render() -> str:
    """Every registered series in the Prometheus text exposition format."""
    lines: list[str] = []
    for metric in REGISTRY:
        lines.extend(metric.render())
    return "\n".join(lines) + "\n"
