"""kill -9 campaign in scale-out mode (DESIGN.md §3.1–3.3): `approvals serve`, `approvals scheduler` and two
workers (one on the database, one over HTTP) as separate processes on this module's fresh PostgreSQL database,
each SIGKILLed at seeded random moments and restarted while clerks drive projects; then the checks of
tests/reliability/checks.py. `make test` runs a short campaign, `make test-long` a long one per seed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.reliability.campaign import run_campaign
from tests.reliability.cluster import Cluster

pytestmark = pytest.mark.postgres
VICTIMS = ["server", "server", "scheduler", "worker-db", "worker-http"]


def _fresh(url: str) -> None:
    """One database per module, one campaign per test: empty it first."""
    parts = make_url(url)
    with psycopg.connect(host=parts.host, port=parts.port or 5432, user=parts.username, password=parts.password,
                         dbname=parts.database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _cluster(tmp_path: Path, database: str) -> Cluster:
    _fresh(database)
    cluster = Cluster(tmp_path, database, scheduler_in_server=False)
    cluster.prepare()
    cluster.add_server()
    cluster.add_scheduler()
    cluster.add_worker("worker-db", remote=False, fail_first=0.1, seed=3)
    cluster.add_worker("worker-http", remote=True, fail_first=0.1, seed=4)
    return cluster


def test_kill_9_short_campaign_on_postgresql(tmp_path: Path, postgres_database: str) -> None:
    figures = run_campaign(_cluster(tmp_path, postgres_database), name="postgres-short", seed=17, kills=5,
                           victims=VICTIMS)
    assert figures.kills == 5 and figures.duplicate_effects == 0
    assert figures.acknowledged > 0 and figures.effects > 0 and figures.timers_fired > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [404, 505, 606])
def test_kill_9_long_campaign_on_postgresql(tmp_path: Path, postgres_database: str, seed: int) -> None:
    figures = run_campaign(_cluster(tmp_path, postgres_database), name=f"postgres-long-{seed}", seed=seed,
                           kills=40, victims=VICTIMS, gap=(0.3, 2.5))
    assert figures.kills == 40 and figures.duplicate_effects == 0
