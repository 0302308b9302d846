"""`history.jsonable` answers a flat payload without the JSON round trip: the same keys, values, types and order."""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from engine.services import history


def _round_trip(payload: Any) -> Any:
    return json.loads(history.canonical_default(payload))


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same key order and the same types at every level (NaN counts as equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b))


class _Kind(enum.IntEnum):
    A = 1


class _Text(str):
    pass


FLAT = [
    {},
    {"task": "review_land", "decision": "approve", "opinion": "同意"},
    {"zeta": 1, "alpha": 2, "Mid": 3, "_under": None, "数字": 4},  # sorted as sort_keys sorts
    {"big": 2**70, "neg": -7, "t": True, "f": False, "none": None},
    {"f1": 0.1, "f2": 1e300, "f3": -0.0, "f4": float("nan"), "f5": float("inf"), "f6": 12.0},
    {"text": "line\nbreak \"quoted\" \\ \u2028 😀"},
]

# Built directly too: datetimes, and lists or tuples of JSON scalars, beside scalars.
ENGINE_EVENTS = [
    {"items": [3, 2, 1]},
    {"pair": (1, 2)},
    {"at": datetime(2026, 11, 29, 8, 0, tzinfo=UTC)},
    {"task_id": "t1", "bpmn_id": "review", "due_at": datetime(2026, 12, 1, 17, 0, tzinfo=timezone(timedelta(hours=8))),
     "candidate_groups": ["国土局", "planning"], "none": None},
    {"elements": [], "mixed": [1, "a", None, 2.5, True, 2**70, float("nan")], "z": ("x",)},
]

NOT_FLAT = [
    {"nested": {"b": 1, "a": [1, (2, 3)]}},
    {"items": [3, [2], 1]},
    {"pair": (1, _Kind.A)},
    {"at": datetime(2026, 11, 29, 8, 0, tzinfo=UTC), "n": {"a": 1}},
    {"when": datetime(2026, 11, 29, 8, 0).date()},
    {10: "int keys", 2: "sorted as ints, then written as text"},
    {"kind": _Kind.A},
    {"name": _Text("a str subclass")},
    {_Text("key"): 1},
    {"flag": True, "set": {1}},
]


@pytest.mark.parametrize("payload", FLAT)
def test_a_flat_payload_is_what_the_round_trip_gives(payload: dict[str, Any]) -> None:
    got = history.jsonable(payload)
    assert _same(got, _round_trip(payload))
    assert got is not payload  # a copy: a caller's later change to its dict does not reach the recorded event
    assert history.canonical(got) == history.canonical_default(payload)  # what event_hash will hash


@pytest.mark.parametrize("payload", ENGINE_EVENTS, ids=range(len(ENGINE_EVENTS)))
def test_datetimes_and_lists_of_scalars_are_what_the_round_trip_gives(payload: dict[str, Any],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _round_trip(payload)

    def no_round_trip(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("built directly, not parsed")

    monkeypatch.setattr(history.json, "loads", no_round_trip)
    got = history.jsonable(payload)
    monkeypatch.undo()
    assert _same(got, expected)
    assert history.canonical(got) == history.canonical_default(payload)
    listed = [key for key, value in payload.items() if isinstance(value, list | tuple)]
    assert all(got[key] is not payload[key] for key in listed)  # new lists: a caller's later change stays out


@pytest.mark.parametrize("payload", NOT_FLAT, ids=range(len(NOT_FLAT)))
def test_anything_else_takes_the_round_trip(payload: dict[Any, Any]) -> None:
    if any(isinstance(v, set) for v in payload.values()):
        # The default turns an unknown object into its str(): the round trip stores the set's text.
        assert history.jsonable(payload)["set"] == "{1}"
    assert _same(history.jsonable(payload), _round_trip(payload))


def test_the_copy_is_independent_of_the_callers_dict() -> None:
    payload = {"decision": "approve"}
    got = history.jsonable(payload)
    payload["decision"] = "reject"
    assert got == {"decision": "approve"}
