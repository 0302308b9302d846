"""The crash campaign's effect ledger: a SQLite file outside the engine's database that the test workers write.

`effect_calls` gets a row for every handler run (at-least-once delivery shows up here as repeats);
`effects` gets the permit itself, keyed by the job id (the idempotency key), so a rerun of a job cannot issue a
second permit. What the campaign then checks is the engine's side of that contract: one job per service-task
activation, one `job:completed` per job, and every completed job backed by exactly one effect.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS effect_calls (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, instance_id TEXT NOT NULL,
                                         bpmn_id TEXT NOT NULL, worker TEXT NOT NULL, attempt INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS effects (job_id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, bpmn_id TEXT NOT NULL,
                                    permit_no TEXT NOT NULL, worker TEXT NOT NULL);
"""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a recorded effect survives the kill -9 that follows it
    return conn


def create(path: Path) -> None:
    with connect(path) as conn:
        conn.executescript(SCHEMA)


class EffectStore:
    """What the handlers write (one connection per call: handlers run on several threads)."""

    def __init__(self, path: Path, worker: str) -> None:
        self.path, self.worker = path, worker

    def called(self, job_id: str, instance_id: str, bpmn_id: str, attempt: int) -> None:
        conn = connect(self.path)
        try:
            conn.execute("INSERT INTO effect_calls (job_id, instance_id, bpmn_id, worker, attempt) "
                         "VALUES (?, ?, ?, ?, ?)", (job_id, instance_id, bpmn_id, self.worker, attempt))
        finally:
            conn.close()

    def issue(self, job_id: str, instance_id: str, bpmn_id: str, permit_no: str) -> None:
        """The effect, idempotent by job id: a rerun of the same job finds it done."""
        conn = connect(self.path)
        try:
            conn.execute("INSERT OR IGNORE INTO effects (job_id, instance_id, bpmn_id, permit_no, worker) "
                         "VALUES (?, ?, ?, ?, ?)", (job_id, instance_id, bpmn_id, permit_no, self.worker))
        finally:
            conn.close()


@dataclass(frozen=True)
class EffectLog:
    calls: list[tuple[str, str, str]]  # (job_id, instance_id, bpmn_id) per handler run
    effects: dict[str, tuple[str, str, str]]  # job_id -> (instance_id, bpmn_id, permit_no)

    @property
    def repeated_calls(self) -> int:
        """Handler runs beyond the first per job: redeliveries after a kill, an expired lock or a failure."""
        return sum(n - 1 for n in Counter(job for job, _i, _b in self.calls).values())

    def activations_with_several_effects(self) -> dict[tuple[str, str], list[str]]:
        """(instance, service task) that got more than one effect (two jobs for one activation): must be empty."""
        by_activation: dict[tuple[str, str], list[str]] = {}
        for job_id, (instance_id, bpmn_id, _permit) in self.effects.items():
            by_activation.setdefault((instance_id, bpmn_id), []).append(job_id)
        return {k: v for k, v in by_activation.items() if len(v) > 1}


def read(path: Path) -> EffectLog:
    conn = connect(path)
    try:
        calls = [tuple(r) for r in conn.execute("SELECT job_id, instance_id, bpmn_id FROM effect_calls ORDER BY id")]
        effects = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
            "SELECT job_id, instance_id, bpmn_id, permit_no FROM effects")}
    finally:
        conn.close()
    return EffectLog(calls, effects)  # type: ignore[arg-type]
