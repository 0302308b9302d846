"""The reload check's value walk (engine/bpmn/reload_check.py) answers as the recursive definition does."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from engine.bpmn import reload_check
from engine.bpmn.reload_check import _native
from engine.bpmn.serialization import registered_types

REGISTERED = registered_types()


class Colour(StrEnum):
    RED = "red"


def _reference(value: Any) -> bool:
    """The definition: JSON scalars, registered types, str-keyed dicts and lists of such values."""
    kind = type(value)
    if kind in (str, int, float, bool, type(None)):
        return True
    if kind is dict:
        return all(type(k) is str and _reference(v) for k, v in value.items())
    if kind is list:
        return all(_reference(v) for v in value)
    return kind in REGISTERED


def _value(rng: random.Random, depth: int) -> Any:
    leaves = ["x", 1, 2.5, True, None, datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2), Decimal("1.5")]
    odd = [(1, 2), {1, 2}, Colour.RED, b"x", object()]
    draw = rng.random()
    if depth <= 0 or draw < 0.3:
        return rng.choice(odd) if rng.random() < 0.04 else rng.choice(leaves)
    if draw < 0.65:
        items = {f"k{i}": _value(rng, depth - 1) for i in range(rng.randrange(4))}
        if rng.random() < 0.03:
            items[7] = "non-string key"  # type: ignore[index]
        return items
    return [_value(rng, depth - 1) for _ in range(rng.randrange(4))]


def test_the_walk_answers_as_the_recursive_definition() -> None:
    rng = random.Random(14)
    answers = set()
    for _ in range(3000):
        value = _value(rng, 5)
        expected = _reference(value)
        assert _native(value, REGISTERED) is expected, value
        answers.add(expected)
    assert answers == {True, False}  # both kinds of value were drawn


def test_plain_values_and_edge_cases() -> None:
    assert _native({"a": [1, {"b": [datetime(2026, 1, 1, tzinfo=UTC)]}], "c": None}, REGISTERED)
    assert not _native({"a": [1, {"b": (1, 2)}]}, REGISTERED)  # a tuple reloads as a list
    assert not _native({"a": {1: "x"}}, REGISTERED)  # an int key reloads as a str
    assert not _native([Colour.RED], REGISTERED)  # a str subclass reloads as a str
    assert _native([], REGISTERED) and _native({}, REGISTERED) and _native("x", REGISTERED)


def test_a_self_referencing_value_ends_with_false(monkeypatch: Any) -> None:
    monkeypatch.setattr(reload_check, "MAX_NODES", 1000)
    looped: list[Any] = [1]
    looped.append(looped)  # a script can build this; JSON cannot hold it, so it must never be cached
    assert _native({"x": looped}, REGISTERED) is False
    deep: list[Any] = []
    tail = deep
    for _ in range(5000):  # deeper than the recursion limit of the recursive definition
        tail.append([])
        tail = tail[0]
    assert _native(deep, REGISTERED) is False  # past the node budget: not cached, which is always safe
