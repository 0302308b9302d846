"""The fast state dict (engine/bpmn/fast_dump.py) equals the serializer registry's, on the corpus, at every step."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.bpmn import fast_dump, serialization
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, _drive


def _same_dict(workflow: BpmnWorkflow) -> None:
    fast = serialization.state_dict(workflow)
    stock = serialization._SERIALIZER.to_dict(workflow)
    assert fast == stock
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(stock, ensure_ascii=False)  # key order too


def test_the_fast_path_is_taken() -> None:
    assert serialization._FAST.fast


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_dict_as_the_registry_at_every_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.unit.bpmn.test_fast_scan as driver

    monkeypatch.setattr(driver, "_check_every_filter", _same_dict)
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=True)
    reloaded = serialization.load_workflow(serialization.dump_workflow(workflow), workflow.spec,
                                           workflow.subprocess_specs)
    _same_dict(reloaded)
    assert serialization.dump_workflow(reloaded) == serialization.dump_workflow(workflow)


def _stock_updates(old: dict[Any, Any], new: dict[Any, Any]) -> dict[Any, Any]:
    return {key: new[key] for key in new if key not in old or new[key] != old[key]}


def test_a_tasks_delta_as_spiffs_on_random_data() -> None:
    """The updates (keys in order, values the very objects) and deletions of TaskConverter's delta: NaN (never
    equal to itself), None where the parent lacks the key, nested values, and a datetime (the stock loop)."""
    rng = random.Random(5)
    nan = float("nan")
    pool: list[Any] = [None, 0, 1, 1.0, True, "a", "", nan, [1, 2], {"k": [1]}, {"k": [2]}, [],
                       datetime(2026, 1, 1, tzinfo=UTC)]
    for _ in range(3000):
        old = {rng.choice("abcdefg"): rng.choice(pool) for _ in range(rng.randrange(6))}
        new = {key: (value if rng.random() < 0.5 else rng.choice(pool)) for key, value in old.items()
               if rng.random() < 0.8}
        new.update({rng.choice("fghij"): rng.choice(pool) for _ in range(rng.randrange(3))})
        got, expected = fast_dump._updates(old, new), _stock_updates(old, new)
        assert list(got) == list(expected) and all(got[key] is expected[key] for key in got), (old, new)
    assert fast_dump._updates({"a": None}, {"a": None, "b": None}) == {"b": None}
    assert list(fast_dump._updates({"n": nan}, {"n": nan})) == ["n"]  # as Spiff: NaN != NaN


def test_a_value_of_another_type_is_compared_only_with_the_parents_value() -> None:
    """Spiff compares a value only with the parent's value under the same key; a type of its own (its `!=` could
    do anything) never meets anything else."""
    compared: list[Any] = []

    class Loud:
        def __ne__(self, other: object) -> bool:
            compared.append(other)
            return True

    assert list(fast_dump._updates({"y": 1}, {"x": Loud(), "y": 2})) == ["x", "y"]
    assert compared == []
    fast_dump._updates({"x": 5}, {"x": Loud()})
    assert compared == [5]
