"""Backup and restore under load (DESIGN.md §6 `db backup|restore`): clerks and a worker keep committing while
`approvals db backup` runs in another process; the restored copy passes `approvals audit verify` (every chain,
every signed head) and `approvals replay --all --verify` (every instance's state from its history). The same for
PostgreSQL with the documented pg_dump / pg_restore (test_backup_restore_postgres.py). Refusals: overwriting a file, restoring over a database
without --yes, a damaged backup, `db backup` on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from engine.dto import DefinitionOut
from engine.models import InstanceEvent, ProcessInstance
from engine.services import human_tasks, instances
from engine.services.commands import run_command
from tests.conftest import HMAC_KEY, ROOT, engine_state

APPROVE = {"decision": "approve", "opinion": "同意"}


class Load:
    """Writer threads driving sample projects to the end (clerks and the permit worker) until stopped."""

    def __init__(self, app: Flask, run_jobs: Callable[..., int], threads: int = 3) -> None:
        self.state = engine_state(app)
        self.run_jobs = run_jobs
        self.stop = threading.Event()
        self.done = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(60)
        assert self.errors == [], self.errors

    def _loop(self) -> None:
        state = self.state
        while not self.stop.is_set():
            try:
                now = state.clock.now()
                out = run_command(state.sessions, lambda s, now=now: instances.start(
                    s, state.ctx, "sample_review", {"project": "备份压力"}, actor="window", now=now))
                with state.sessions() as session:
                    tasks = human_tasks.list_tasks(session, instance_id=out.id)
                for task in tasks:
                    run_command(state.sessions, lambda s, t=task, now=now: human_tasks.complete(
                        s, state.ctx, t.id, APPROVE, actor="li.nrp", now=now))
                self.run_jobs(worker_id=f"w-{threading.get_ident()}")
                with self._lock:
                    self.done += 1
            except BaseException as exc:  # noqa: BLE001 (reported by __exit__)
                self.errors.append(exc)
                return

    def wait_for(self, projects: int) -> None:
        while self.done < projects and not self.errors:
            self.stop.wait(0.05)  # real threads: poll until they have committed enough


def _config(tmp_path: Path, name: str, url: str) -> dict[str, str]:
    config = tmp_path / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n[paths]\nprocesses = "{ROOT / "processes"}"\n'
                      f'forms = "{ROOT / "forms"}"\nvar = "{tmp_path / "var"}"\n', encoding="utf-8")
    return {**os.environ, "APPROVALS_CONFIG": str(config), "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY}


def _process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`approvals ARGS` in a process of its own (the backup runs beside the writers)."""
    return subprocess.run([sys.executable, "-m", "engine", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _cli(env: dict[str, str], *args: str) -> Ran:
    """`approvals ARGS` in this process (click's runner): the same command, without a second interpreter."""
    from engine.cli import main

    wanted = {k: v for k, v in env.items() if k.startswith("APPROVALS_")}
    result = CliRunner().invoke(main, list(args), env=wanted, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def _counts(app: Flask) -> tuple[int, int]:
    with engine_state(app).sessions() as s:
        return (s.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
                s.scalar(select(func.count()).select_from(InstanceEvent)) or 0)


def _verified(env: dict[str, str], run: Callable[..., Any] = _cli) -> str:
    audit = run(env, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    replay = run(env, "replay", "--all", "--verify")
    assert replay.returncode == 0, replay.stdout[-2000:] + replay.stderr[-2000:]
    return replay.stdout.strip().splitlines()[-1]


def test_a_sqlite_backup_taken_under_load_restores_with_every_chain_intact(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int], tmp_path: Path) -> None:
    deploy("sample_review")
    live = _config(tmp_path, "live", str(engine_state(app).db_engine.url))
    backup_file = tmp_path / "backups" / "approvals-backup.sqlite3"
    backup_file.parent.mkdir()
    with Load(app, run_jobs) as load:
        load.wait_for(3)
        before = _counts(app)
        made = _process(live, "db", "backup", str(backup_file))
        assert made.returncode == 0, made.stderr
        during = load.done
        load.wait_for(during + 2)  # the writers went on while and after the backup ran
    after = _counts(app)
    assert "integrity ok" in made.stdout and backup_file.exists()
    assert not list(backup_file.parent.glob("*.part")) and not list(backup_file.parent.glob("*-wal"))

    restored = _config(tmp_path, "restored", f"sqlite:///{tmp_path}/restored.sqlite3")
    result = _cli(restored, "db", "restore", str(backup_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all history chains verify" in result.stdout
    line = _verified(restored)
    copied = int(line.split()[0])
    assert before[0] <= copied <= after[0] and after[0] > before[0], (before, copied, after)
    print(f"\nbackup under load: {copied} of {after[0]} instances in the backup; replay: {line}")

    # Refusals change nothing.
    again = _cli(live, "db", "backup", str(backup_file))
    assert again.returncode == 1 and "never overwrites" in again.stderr
    over = _cli(live, "db", "restore", str(backup_file))
    assert over.returncode == 1 and "--yes" in over.stderr and _counts(app) == after
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    broken = _cli(restored, "db", "restore", "--yes", str(damaged))
    assert broken.returncode == 1 and ("damaged" in broken.stderr or "not a SQLite" in broken.stderr), broken.stderr
    not_ours = tmp_path / "other.sqlite3"
    import sqlite3

    with sqlite3.connect(not_ours) as conn:
        conn.execute("CREATE TABLE t (x)")
    foreign = _cli(restored, "db", "restore", "--yes", str(not_ours))
    assert foreign.returncode == 1 and "not an approvals database" in foreign.stderr
    assert _verified(restored) == line  # the restored copy is untouched by the refused restores
