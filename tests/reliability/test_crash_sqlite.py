"""kill -9 campaign in embedded mode (DESIGN.md §3.1, §3.3): one `approvals serve` on a SQLite file (WAL,
synchronous FULL) with its in-process scheduler, and two remote workers over HTTP. The server and the workers
are SIGKILLed at seeded random moments and restarted while clerks drive projects; then every acknowledged
command must be in the history, no effect may have happened twice, replay and audit verify must pass and
nothing may be stuck. `make test` runs a short campaign, `make test-long` a long one per seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.campaign import run_campaign
from tests.reliability.cluster import Cluster


def _cluster(tmp_path: Path) -> Cluster:
    cluster = Cluster(tmp_path, f"sqlite:///{tmp_path}/engine.sqlite3", scheduler_in_server=True)
    cluster.prepare()
    cluster.add_server()
    cluster.add_worker("worker-1", remote=True, fail_first=0.1, seed=1)
    cluster.add_worker("worker-2", remote=True, fail_first=0.1, seed=2)
    return cluster


VICTIMS = ["server", "server", "worker-1", "worker-2"]


def test_kill_9_short_campaign_on_sqlite(tmp_path: Path) -> None:
    figures = run_campaign(_cluster(tmp_path), name="sqlite-short", seed=13, kills=5, victims=VICTIMS)
    assert figures.kills == 5 and figures.duplicate_effects == 0
    assert figures.acknowledged > 0 and figures.effects > 0 and figures.timers_fired > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 202, 303])
def test_kill_9_long_campaign_on_sqlite(tmp_path: Path, seed: int) -> None:
    figures = run_campaign(_cluster(tmp_path), name=f"sqlite-long-{seed}", seed=seed, kills=40, victims=VICTIMS,
                           gap=(0.3, 2.5))
    assert figures.kills == 40 and figures.duplicate_effects == 0
