"""Loaded workflows kept between commands, so a command does not rebuild its instance from JSON each time.

App-owned and bounded (STYLE.md §9 allows exactly this), keyed by instance id and the instance's version
counter, and checked against the stored state JSON on the way out, so a stale entry is never used:

- `take` hands a workflow to one command and removes it: an object is never shared between threads, and a
  command that fails (or rolls back) simply never gives it back.
- `give_back_after_commit` returns the workflow once the command's transaction has committed, under the
  version and state JSON that transaction wrote; nothing is kept if it rolls back.

Loading approval_9's state costs ~2-5 ms; a hit costs a dict lookup and one string comparison.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from engine.bpmn.reload_check import survives_reload

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.models import ProcessInstance

DEFAULT_SIZE = 128


class WorkflowCache:
    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[int, str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def take(self, instance: ProcessInstance) -> BpmnWorkflow | None:
        """The cached workflow of exactly this stored state (version and JSON), removed from the cache."""
        with self._lock:
            entry = self._items.pop(instance.id, None)
            if entry is not None and entry[0] == instance.lock_version and entry[1] == instance.state_json:
                self.hits += 1
                return entry[2]
            self.misses += 1
            return None

    def put(self, instance_id: str, version: int, state_json: str, workflow: BpmnWorkflow) -> None:
        if self.maxsize <= 0:
            return
        with self._lock:
            current = self._items.get(instance_id)
            if current is not None and current[0] > version:
                return  # a later command already gave back a newer state
            self._items[instance_id] = (version, state_json, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def discard(self, instance_id: str) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def give_back_after_commit(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
                               changed_since: float) -> None:
        """Keep `workflow` for the next command once this transaction commits, if a reload would equal it and it
        has not ended.

        An ended workflow is not kept: no command changes it again, and in the bounded cache it would push out the
        workflows of running instances.
        `changed_since` is a `time.time()` taken before the command ran Spiff (see `survives_reload`).
        """
        if self.maxsize <= 0:
            return
        self.discard(instance.id)  # whatever was cached is older than what this transaction writes
        if workflow.completed:  # Spiff's flag: the end reached, or the workflow cancelled
            return
        if survives_reload(workflow, changed_since):
            _pending(session).append((self, instance.id, instance, workflow))


_PENDING_KEY = "engine.workflow_cache.pending"
_listening = False


def _pending(session: Session) -> list[tuple[WorkflowCache, str, ProcessInstance, BpmnWorkflow]]:
    global _listening
    if not _listening:
        # Once per process, on the Session class: a per-session `event.listen` costs ~0.4 ms per command.
        event.listen(Session, "after_commit", _on_commit)
        event.listen(Session, "after_soft_rollback", _on_rollback)
        _listening = True
    return session.info.setdefault(_PENDING_KEY, [])


def _on_commit(session: Session) -> None:
    for cache, instance_id, instance, workflow in session.info.pop(_PENDING_KEY, ()):
        # Read the committed values without a refresh (no SQL is allowed after commit).
        values = inspect(instance).dict
        version, state_json = values.get("lock_version"), values.get("state_json")
        if isinstance(version, int) and isinstance(state_json, str):
            cache.put(instance_id, version, state_json, workflow)


def _on_rollback(session: Session, _previous: object) -> None:
    # Any rollback, a savepoint's included, may have undone what a pending workflow reflects: drop them all.
    session.info.pop(_PENDING_KEY, None)


def command_clock() -> float:
    """The `changed_since` mark for `give_back_after_commit`: Spiff stamps task state changes with time.time()."""
    return time.time()
