"""Engine processes collect garbage less often; a process's own larger thresholds are kept."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine import gc_policy


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_tune_raises_the_thresholds(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc_policy.tune()
    assert gc.get_threshold() == gc_policy.THRESHOLDS


def test_tune_never_lowers_a_larger_setting(thresholds: None) -> None:
    gc.set_threshold(50_000, 5, 500)
    gc_policy.tune()
    assert gc.get_threshold() == (50_000, gc_policy.THRESHOLDS[1], 500)
    gc.set_threshold(700, 20, 10)
    gc_policy.tune()
    assert gc.get_threshold() == (gc_policy.THRESHOLDS[0], 20, gc_policy.THRESHOLDS[2])


def test_young_collections_stay_small() -> None:
    """A generation-1 collection scans up to threshold0 x threshold1 survivors: bounded, so that a server's pause
    stays short (at 10,000 x 50 one took 242 ms under bench/clerks_http.py)."""
    young, middle, _old = gc_policy.THRESHOLDS
    assert young >= 10_000  # still rare young collections (the CPU reason for the policy)
    assert young * middle <= 100_000
