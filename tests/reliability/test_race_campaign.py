"""Race campaigns on SQLite (BEGIN IMMEDIATE serializes writers; DESIGN.md §3.1): exactly one winner each time,
never a task both completed and cancelled. `make test`: 100 of each (25 on PostgreSQL); `make test-long`: 1,000 of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Auth
from tests.reliability import races


@pytest.fixture(params=[100, pytest.param(1000, marks=pytest.mark.slow)])
def race_count(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_double_completions_have_exactly_one_winner(app: Flask, auth: Auth, deploy: Callable[..., Any],
                                                    race_count: int) -> None:
    n = race_count
    races.deploy_race_processes(deploy)
    figures = races.double_completions(app, auth, n)
    assert figures.problems == []
    assert figures.races == n and figures.winners["engine-rest"] > 0
    print(f"\n{n} double completions on {app.extensions['engine'].db_engine.dialect.name}: {dict(figures.winners)}")


def test_complete_vs_deadline_has_exactly_one_winner(app: Flask, auth: Auth, deploy: Callable[..., Any],
                                                     race_count: int) -> None:
    n = race_count
    races.deploy_race_processes(deploy)
    figures = races.complete_vs_deadline(app, auth, n)
    assert figures.problems == []
    assert figures.races == n
    print(f"\n{n} complete-vs-deadline races on {app.extensions['engine'].db_engine.dialect.name}: "
          f"{dict(figures.winners)}")
