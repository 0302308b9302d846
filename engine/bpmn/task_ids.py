"""Spiff's task ids (`uuid4()` in `Task.__init__`) made from one random read per 512 ids.

Why: every task Spiff creates (168 per approval_9 instance, predicted ones included) calls `uuid.uuid4`: an
`os.urandom(16)` system call and `UUID.__init__`'s checks in Python, ~1.7-2.5 us each (system time mostly).
`new_id` hands out UUIDs made in batches: 8 KiB from `os.urandom` (the same source), the version and variant bits
set as `UUID(bytes=..., version=4)` sets them, the objects built directly (the slots `UUID.__init__` fills); ~0.7 us
before ids kept their text (below). With the text, on a slower machine: 2.1 us per id against 1.4 us without it and
2.1 us for `uuid.uuid4()`; the text is asked for anyway (the dump writes every task's id), once instead of many times.
The same kind of id as stock's (version 4, RFC 4122 variant, `is_safe` unknown); tests/unit/bpmn/test_task_ids.py
checks that, their uniqueness, and that a forked child (a worker process) never hands out its parent's batch.

Each id is a `TaskId`, a UUID that keeps its text: `UUID.__str__` formats the 128-bit int anew on every call (~1.1 us)
and an approval_9 instance asked for ~1,170 task ids' text (the state dump's fragments, mostly: ids, parents,
children; the rows that name a task). Equal to, hashed as, ordered with and formatted as the UUID of the same
value; its repr is a UUID's, a copy or pickle of it is a plain UUID, and the serializer registry converts it as one
(`register`), so no state, data or log tells them apart. A workflow loaded from JSON has plain UUIDs.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID, SafeUUID

import SpiffWorkflow.task as spiff_task_module

BATCH = 512
_STOCK = spiff_task_module.uuid4
# UUID(bytes=..., version=4): clear the variant and version bits, then set variant RFC 4122 and version 4.
_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_SET = (0x8000 << 48) | (4 << 76)


class TaskId(UUID):
    """A UUID with its text made once (UUID's slots are set through their descriptors: UUID forbids setattr)."""

    __slots__ = ("_text",)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"UUID('{self._text}')"

    def __reduce__(self) -> tuple[type[UUID], tuple[None, None, None, None, int]]:
        return UUID, (None, None, None, None, self.int)  # copies and pickles are plain UUIDs: UUID(int=...)


_NEW = object.__new__
_SET_INT = UUID.__dict__["int"].__set__  # the slot descriptors UUID.__init__ assigns through
_SET_SAFE = UUID.__dict__["is_safe"].__set__
_SET_TEXT = TaskId.__dict__["_text"].__set__
_UNKNOWN = SafeUUID.unknown
_pool: list[UUID] = []


def _refill() -> None:
    raw = os.urandom(16 * BATCH)
    batch = []
    for start in range(0, len(raw), 16):
        uid = _NEW(TaskId)
        value = int.from_bytes(raw[start:start + 16], "big") & _CLEAR | _SET
        _SET_INT(uid, value)
        _SET_SAFE(uid, _UNKNOWN)
        digits = f"{value:032x}"
        _SET_TEXT(uid, f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}")
        batch.append(uid)
    _pool.extend(batch)  # list.extend and list.pop hold the GIL: threads never get the same id


def register(registry: Any) -> None:
    """Have a Spiff serializer registry convert a TaskId in data or events as it converts a UUID (under UUID's
    typename, so that it restores as a UUID)."""
    registry.register(TaskId, lambda value: {"value": str(value)}, lambda value: UUID(value["value"]),
                      typename="UUID")


def new_id() -> UUID:
    """A random (version 4) UUID, as `uuid.uuid4()`."""
    while True:
        try:
            return _pool.pop()
        except IndexError:
            _refill()


def _forget() -> None:
    _pool.clear()  # a forked child must not hand out the ids its parent may hand out too


os.register_at_fork(after_in_child=_forget)


def install() -> None:
    spiff_task_module.uuid4 = new_id  # type: ignore[attr-defined]


def uninstall() -> None:
    spiff_task_module.uuid4 = _STOCK  # type: ignore[attr-defined]
