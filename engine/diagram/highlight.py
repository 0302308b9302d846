"""What to highlight on a diagram: a value object the renderer reads and the services fill from history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Later states win when an element is in several sets: a deemed-approved review is also completed.
STATE_ORDER = ("completed", "active", "fired", "deemed")


@dataclass(frozen=True)
class Highlight:
    completed: frozenset[str] = frozenset()  # elements that ran to completion at least once
    active: frozenset[str] = frozenset()  # open user tasks, waiting timers, running subprocesses
    taken_flows: frozenset[str] = frozenset()  # sequence flows the instance went along
    fired_timers: frozenset[str] = frozenset()  # timer events that fired
    deemed: frozenset[str] = frozenset()  # reviews deemed approved because their limit passed

    @classmethod
    def of(cls, *, completed: Iterable[str] = (), active: Iterable[str] = (), taken_flows: Iterable[str] = (),
           fired_timers: Iterable[str] = (), deemed: Iterable[str] = ()) -> Highlight:
        return cls(frozenset(completed), frozenset(active), frozenset(taken_flows), frozenset(fired_timers),
                   frozenset(deemed))

    def states(self, element_id: str) -> list[str]:
        """CSS classes for one element, in STATE_ORDER."""
        found = []
        if element_id in self.completed:
            found.append("completed")
        if element_id in self.active:
            found.append("active")
        if element_id in self.fired_timers:
            found.append("fired")
        if element_id in self.deemed:
            found.append("deemed")
        return found

    def is_empty(self) -> bool:
        return not (self.completed or self.active or self.taken_flows or self.fired_timers or self.deemed)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "completed": sorted(self.completed),
            "active": sorted(self.active),
            "taken_flows": sorted(self.taken_flows),
            "fired_timers": sorted(self.fired_timers),
            "deemed": sorted(self.deemed),
        }
