"""Task data inheritance (engine/bpmn/fast_merge.py) merges as SpiffWorkflow's own `DeepMerge.merge`."""

from __future__ import annotations

import math
from collections import OrderedDict
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.util.deep_merge import DeepMerge

from engine.bpmn import fast_merge
from engine.bpmn.parsing import load_process
from engine.simulation.runner import Simulation, SimulationConfig, stuck_instances
from tests.simulation.test_shortcuts import _settings
from tests.unit.bpmn.test_fast_scan import CORPUS, _drive


def _same_as_stock(a: Any, b: Any) -> Any:
    """`fast_merge.merge(a, b)`, checked against stock's merge of copies: same result, same object returned, and
    where `a` was empty the values of `b` copied exactly where stock copies them."""
    was_empty = type(a) is dict and not a
    expected = fast_merge.stock_merge(deepcopy(a), deepcopy(b))
    merged = fast_merge.merge(a, b)
    assert merged is a
    assert merged == expected and list(merged) == list(expected)
    if was_empty:
        for key, value in b.items():
            copied = isinstance(value, (dict, list, set))
            assert (merged[key] is value) is not copied, key
    return merged


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({}, {"n": 1, "s": "呼和浩特", "d": {"x": [1, {"y": 2}]}, "l": [1, 2], "set": {1}, "t": (1, 2), "none": None}),
    ({"d": {"x": [1, 2]}, "n": 1}, {"d": {"x": [1, 2]}, "n": 1}),  # equal: nothing changes
    ({"n": float("nan")}, {"n": float("nan")}),  # unequal NaNs: stock's path
    ({"extra": 1, "n": 1}, {"n": 1}),  # a has more: stock's path
    ({"d": {"x": 1}, "l": [1]}, {"d": {"x": 2, "y": 3}, "l": [1, 2], "new": {"k": []}}),  # nested updates
]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_the_cases_merge_as_stock(a: dict[str, Any], b: dict[str, Any]) -> None:
    _same_as_stock(a, b)


def test_an_equal_merge_changes_nothing_in_place() -> None:
    inner = [1, 2]
    a, b = {"l": inner, "n": math.pi}, {"l": [1, 2], "n": math.pi}
    assert fast_merge.merge(a, b) is a and a["l"] is inner


def test_other_mappings_go_to_stock(monkeypatch: pytest.MonkeyPatch) -> None:
    stock: list[Any] = []
    monkeypatch.setattr(fast_merge, "_STOCK", lambda a, b, path=None: stock.append(a) or a)
    a = OrderedDict()
    assert fast_merge.merge(a, {"l": [1]}) is a and stock == [a]


def _check_every_merge(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """From now on every merge is checked against stock's (`_same_as_stock`); the set of its cases seen."""
    kinds: set[str] = set()

    def checking(a: Any, b: Any, nested: list[str] | None = None) -> Any:
        if nested is not None:  # stock's recursion, inside a merge checked as a whole
            return fast_merge.stock_merge(a, b, nested)
        kinds.add("empty" if not a else "equal" if a == b else "stock")
        return _same_as_stock(a, b)

    monkeypatch.setattr(DeepMerge, "merge", staticmethod(checking))
    return kinds


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_merge_of_the_corpus_runs_as_stock(path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = _check_every_merge(monkeypatch)
    _drive(load_process(path.read_bytes(), file=path.name), check=False)
    if path.stem == "approval_9":  # waiting boundary timers updated after every step: both paths
        assert {"empty", "equal"} <= kinds, kinds


def test_every_merge_of_a_simulation_runs_as_stock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both approval processes, as the simulation drives them (their task data holds a whole application)."""
    kinds = _check_every_merge(monkeypatch)
    simulation = Simulation(_settings(tmp_path), SimulationConfig(projects=3, seed=5, directory=tmp_path / "s"))
    try:
        simulation.run()
        assert stuck_instances(simulation.state) == 0
    finally:
        simulation.state.db_engine.dispose()
    assert kinds == {"empty", "equal", "stock"}
