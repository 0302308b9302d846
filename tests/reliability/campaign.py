"""The kill -9 campaign: clerks drive projects while a seeded chaos loop SIGKILLs the cluster's processes at
random moments and restarts them; then the checks of tests/reliability/checks.py run.

The seed fixes which process dies and when (the operating system's scheduling still varies the exact line).
Figures go to stdout and to test-output/reliability/<name>.json for the report.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict

from tests.conftest import ROOT
from tests.reliability.checks import Figures, drain, verify
from tests.reliability.cluster import Cluster
from tests.reliability.ledger import COMMAND_DEADLINE, Client, Driver, Ledger

OUTPUT = ROOT / "test-output" / "reliability"


def run_campaign(cluster: Cluster, *, name: str, seed: int, kills: int, victims: list[str], clients: int = 3,
                 gap: tuple[float, float] = (0.5, 2.0)) -> Figures:
    """Start everything, kill `kills` times (a victim drawn from `victims`, repeats allowed to weight them),
    stop the clients, drain, stop gracefully, verify."""
    try:
        return _run(cluster, name=name, seed=seed, kills=kills, victims=victims, clients=clients, gap=gap)
    finally:
        cluster.kill_all()


def _run(cluster: Cluster, *, name: str, seed: int, kills: int, victims: list[str], clients: int,
         gap: tuple[float, float]) -> Figures:
    rng = random.Random(seed)
    cluster.start_all()
    ledger = Ledger()
    driver = Driver(Client(cluster.url, cluster.clerk_token, ledger), seed)
    threads = driver.run(clients)
    survived = 0
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(*gap))  # real time: the kill lands wherever the processes are
            crashed = cluster.dead()
            assert not crashed, f"{crashed} exited on their own\n{cluster.logs()}"
            victim = rng.choice(victims)
            cluster.kill(victim)
            time.sleep(rng.uniform(0.0, 0.6))  # down for a moment: clients and workers find it gone
            cluster.start(victim)  # a server must answer again before the loop goes on
            survived += 1
    finally:
        driver.stop.set()
        for t in threads:
            t.join(COMMAND_DEADLINE + 10)
    state = drain(cluster, driver)
    codes = cluster.stop_all()
    assert set(codes.values()) <= {0}, f"graceful stop exit codes {codes}\n{cluster.logs()}"
    figures = verify(cluster, state, ledger, driver, survived)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{name}.json").write_text(json.dumps({"seed": seed, **asdict(figures)}, ensure_ascii=False,
                                                    indent=2), encoding="utf-8")
    print(f"\n{name} (seed {seed}): {figures.line()}")
    return figures
