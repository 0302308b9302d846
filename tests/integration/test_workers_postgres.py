"""PostgreSQL scale-out (DESIGN.md §3.3): worker processes share the jobs without a leader, each job's effect is
recorded exactly once, and a job held by a worker killed with SIGKILL is done by another once its lock expires.

Real processes, real (short) durations, polling with deadlines. `make test` drains 200 jobs; the full-scale
1,000-job campaign is marked slow (`make test-long`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from engine.app_state import AppState, build_state
from engine.config import load_settings
from engine.db import Base
from engine.models import InstanceStatus, ProcessInstance, ServiceJob
from engine.services import deployments, history, instances
from engine.services.commands import run_command
from tests.conftest import DATA, HMAC_KEY, ROOT
from tests.integration.effect_worker import SCHEMA

pytestmark = pytest.mark.postgres
WORKERS = 4


@pytest.fixture(scope="module")
def pg_state(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppState]:
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": postgres_database}, "audit": {"hmac_key": HMAC_KEY},
        "paths": {"var": str(tmp_path_factory.mktemp("var"))}})
    state = build_state(settings)
    Base.metadata.create_all(state.db_engine)
    with psycopg.connect(_dsn(state), autocommit=True) as conn:
        conn.execute(SCHEMA)
    run_command(state.sessions, lambda s: deployments.deploy_path(
        s, state.ctx, DATA / "bpmn" / "effect_job.bpmn", actor="designer", now=state.clock.now()))
    yield state
    state.db_engine.dispose()


def _dsn(state: AppState) -> str:
    url = make_url(state.settings.database.url)
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}" + (
        f" password={url.password}" if url.password else "")


def _start_instances(state: AppState, first: int, count: int) -> set[str]:
    ids: set[str] = set()
    lock = threading.Lock()

    def starter(numbers: range) -> None:
        for n in numbers:
            out = run_command(state.sessions, lambda s, n=n: instances.start(
                s, state.ctx, "effect_job", {"n": n}, actor="clerk", now=state.clock.now()))
            with lock:
                ids.add(out.id)

    chunks = [range(first + i, first + count, 4) for i in range(4)]
    threads = [threading.Thread(target=starter, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ids


def _spawn(state: AppState, log_dir: Path, worker_id: str, *, stall: bool = False, slow: float = 0.0,
           lock_seconds: float = 300) -> subprocess.Popen[bytes]:
    env = {**os.environ, "APPROVALS_CONFIG": str(ROOT / "config.toml"),
           "APPROVALS_DATABASE__URL": state.settings.database.url, "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY,
           "APPROVALS_PATHS__VAR": state.settings.paths.var, "APPROVALS_WORKERS__LOCK_SECONDS": str(lock_seconds),
           "APPROVALS_WORKERS__POLL_INTERVAL_SECONDS": "0.2", "APPROVALS_WORKERS__LONG_POLL_SECONDS": "2"}
    args = [sys.executable, "-m", "tests.integration.effect_worker", _dsn(state), "--worker-id", worker_id]
    with (log_dir / f"{worker_id}.log").open("wb") as log:  # the child keeps its own copy of the fd
        return subprocess.Popen(args + (["--stall"] if stall else []) + ["--slow", str(slow)], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)


def _wait_for(what: str, check: Callable[[], bool], timeout: float, procs: list[subprocess.Popen[bytes]],
              log_dir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        dead = [p for p in procs if p.poll() is not None and p.returncode not in (0, -signal.SIGKILL)]
        if dead:
            break
        time.sleep(0.2)  # a multi-process test: poll real time with a deadline
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.glob("*.log")))
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def _completed(state: AppState, ids: set[str]) -> int:
    with state.sessions() as s:
        rows = s.scalars(select(ProcessInstance.status).where(ProcessInstance.id.in_(ids))).all()
    return sum(1 for status in rows if status == InstanceStatus.COMPLETED)


def _stop(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=30))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return codes


def _rows(state: AppState, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(_dsn(state), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _drain(state: AppState, tmp_path: Path, jobs: int, first: int) -> None:
    ids = _start_instances(state, first, jobs)
    procs = [_spawn(state, tmp_path, f"worker{i}") for i in range(WORKERS)]
    try:
        _wait_for(f"{jobs} instances to complete", lambda: _completed(state, ids) == jobs, 240, procs, tmp_path)
    finally:
        codes = _stop(procs)
    assert codes == [0] * WORKERS  # SIGTERM: graceful exit

    with state.sessions() as s:
        job_rows = s.execute(select(ServiceJob.id, ServiceJob.instance_id, ServiceJob.finished_by, ServiceJob.status)
                             .where(ServiceJob.instance_id.in_(ids))).all()
        variables = {i: instances.describe(s, state.ctx, i).variables for i in ids}
        assert history.verify_all(s, state.ctx.hmac_key) == []
    assert len(job_rows) == jobs and {r.status for r in job_rows} == {"completed"}
    job_ids = {r.id for r in job_rows}
    effects = {job_id: effect_id for effect_id, job_id in _rows(state, "SELECT id, job_id FROM effects")
               if job_id in job_ids}
    calls = [job_id for (job_id,) in _rows(state, "SELECT job_id FROM effect_calls") if job_id in job_ids]
    assert set(effects) == job_ids  # every job's effect, once (effects are keyed by job id)
    assert sorted(calls) == sorted(job_ids)  # and no job was ever handed to two workers: one call each
    by_instance = {r.instance_id: r.id for r in job_rows}
    assert all(variables[i]["effect"]["effect_id"] == effects[by_instance[i]] for i in ids)
    assert len({r.finished_by for r in job_rows}) >= 2  # the work was shared


def test_four_workers_drain_jobs_each_effect_exactly_once(pg_state: AppState, tmp_path: Path) -> None:
    _drain(pg_state, tmp_path, 200, first=0)


@pytest.mark.slow
def test_four_workers_drain_a_thousand_jobs_each_effect_exactly_once(pg_state: AppState, tmp_path: Path) -> None:
    _drain(pg_state, tmp_path, 1000, first=10_000)


def test_a_job_held_by_a_killed_worker_is_done_by_another_after_its_lock_expires(pg_state: AppState,
                                                                                 tmp_path: Path) -> None:
    state, lock_seconds = pg_state, 2.0
    [instance_id] = _start_instances(state, 50_000, 1)
    with state.sessions() as s:
        job_id = s.scalars(select(ServiceJob.id).where(ServiceJob.instance_id == instance_id)).one()
    victim = _spawn(state, tmp_path, "victim", stall=True, lock_seconds=lock_seconds)
    procs = [victim]
    _wait_for("the victim to start the job",
              lambda: bool(_rows(state, "SELECT 1 FROM effect_calls WHERE job_id = %s", (job_id,))), 60, procs,
              tmp_path)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    with state.sessions() as s:
        held = s.get(ServiceJob, job_id)
        assert (held.status, held.lock_owner) == ("locked", "victim")
        expires = held.lock_expires_at
    rescuer = _spawn(state, tmp_path, "rescuer", lock_seconds=lock_seconds)
    procs.append(rescuer)
    try:
        _wait_for("the rescuer to finish the job", lambda: _completed(state, {instance_id}) == 1, 60, procs,
                  tmp_path)
    finally:
        assert _stop([rescuer]) == [0]

    calls = _rows(state, "SELECT worker, at FROM effect_calls WHERE job_id = %s ORDER BY id", (job_id,))
    assert [worker for worker, _at in calls] == ["victim", "rescuer"]
    assert calls[1][1] >= expires  # not before the victim's lock expired
    assert _rows(state, "SELECT worker FROM effects WHERE job_id = %s", (job_id,)) == [("rescuer",)]
    with state.sessions() as s:
        job = s.get(ServiceJob, job_id)
        assert (job.status, job.finished_by, job.attempts, job.failures) == ("completed", "rescuer", 2, 0)


def test_sigterm_lets_a_running_handler_finish_and_report(pg_state: AppState, tmp_path: Path) -> None:
    state = pg_state
    [instance_id] = _start_instances(state, 60_000, 1)
    with state.sessions() as s:
        job_id = s.scalars(select(ServiceJob.id).where(ServiceJob.instance_id == instance_id)).one()
    worker = _spawn(state, tmp_path, "graceful", slow=1.5)
    _wait_for("the handler to start",
              lambda: bool(_rows(state, "SELECT 1 FROM effect_calls WHERE job_id = %s", (job_id,))), 60, [worker],
              tmp_path)
    worker.send_signal(signal.SIGTERM)  # mid-handler
    assert worker.wait(timeout=30) == 0
    with state.sessions() as s:
        job = s.get(ServiceJob, job_id)
        assert (job.status, job.finished_by) == ("completed", "graceful")
        assert s.get(ProcessInstance, instance_id).status == InstanceStatus.COMPLETED
    assert "finishing running jobs" in (tmp_path / "graceful.log").read_text()
