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
    gc.set_threshold(50_000, 10, 500)
    gc_policy.tune()
    assert gc.get_threshold() == (50_000, 50, 500)
