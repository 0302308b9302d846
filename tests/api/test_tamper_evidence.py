"""`approvals audit verify` against a forger with database access (issue 10, DESIGN.md §3.4 and §6).

Each case changes the stored history the way an insider could, and verification must exit 1 naming the chain
and the first bad row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import ChainCheckpoint, ChainHead, InstanceEvent
from engine.services import history
from tests.audit_support import APPROVE, cli_config, complete, run_cli, start
from tests.conftest import engine_state

Forgery = Callable[[Session, str], int | None]  # changes the chain; returns the seq verify must name


def _rows(session: Session, chain: str) -> list[InstanceEvent]:
    return list(session.scalars(select(InstanceEvent).where(InstanceEvent.chain == chain)
                                .order_by(InstanceEvent.seq)))


def _rehash_from(session: Session, chain: str, first: int) -> None:
    """Recompute seq, prev_hash and hash of every row from `first` on, as a careful forger would."""
    rows = _rows(session, chain)
    prev = rows[first - 2].hash if first > 1 else history.GENESIS
    for row in rows[first - 1:]:
        row.prev_hash = prev
        row.hash = history.event_hash(row.instance_id, row.seq, row.kind, row.at, row.actor, row.payload, prev)
        prev = row.hash
    session.flush()


def _retarget_head(session: Session, chain: str) -> None:
    """Point the head at the forged end (the forger cannot sign it)."""
    rows = _rows(session, chain)
    head = session.get(ChainHead, chain)
    assert head is not None
    head.last_seq, head.last_hash = rows[-1].seq, rows[-1].hash


def edit_payload(session: Session, chain: str) -> int:
    row = _rows(session, chain)[4]
    row.payload = {**row.payload, "data": {"decision": "reject", "opinion": "改"}}
    return row.seq


def delete_middle(session: Session, chain: str) -> int:
    row = _rows(session, chain)[3]
    session.delete(row)
    return row.seq


def delete_tail(session: Session, chain: str) -> int:
    row = _rows(session, chain)[-1]
    session.delete(row)
    return row.seq


def delete_tail_and_its_checkpoint(session: Session, chain: str) -> int:
    seq = delete_tail(session, chain)
    session.execute(delete(ChainCheckpoint).where(ChainCheckpoint.chain == chain, ChainCheckpoint.seq == seq))
    return seq


def insert_middle(session: Session, chain: str) -> int:
    """A fabricated row at position 3: later rows renumbered, every hash from it on recomputed."""
    rows = _rows(session, chain)
    for row in reversed(rows[2:]):
        row.seq += 1
        session.flush()
    template = rows[1]
    session.add(InstanceEvent(chain=chain, instance_id=template.instance_id, seq=3, kind="task:completed",
                              at=template.at, actor="forger", payload={"note": "后补的记录"}, prev_hash="",
                              hash=""))
    session.flush()
    _rehash_from(session, chain, 3)
    _retarget_head(session, chain)
    return 3


def append_row(session: Session, chain: str) -> int:
    rows = _rows(session, chain)
    last = rows[-1]
    seq = last.seq + 1
    digest = history.event_hash(last.instance_id, seq, "task:completed", last.at, "forger", {}, last.hash)
    session.add(InstanceEvent(chain=chain, instance_id=last.instance_id, seq=seq, kind="task:completed", at=last.at,
                              actor="forger", payload={}, prev_hash=last.hash, hash=digest))
    _retarget_head(session, chain)
    return seq


def rewrite_chain(session: Session, chain: str) -> int:
    """Change one input and recompute every later hash and the head's last hash: only the keys betray it."""
    seq = edit_payload(session, chain)
    _rehash_from(session, chain, seq)
    _retarget_head(session, chain)
    return seq


def rewrite_chain_and_drop_checkpoints(session: Session, chain: str) -> int:
    rewrite_chain(session, chain)
    session.execute(delete(ChainCheckpoint).where(ChainCheckpoint.chain == chain))
    return _rows(session, chain)[-1].seq


def forge_checkpoints(session: Session, chain: str) -> int:
    """Rewrite, then copy the new hashes into the checkpoints without the key."""
    seq = rewrite_chain(session, chain)
    for row in _rows(session, chain):
        checkpoint = session.scalars(select(ChainCheckpoint).where(ChainCheckpoint.chain == chain,
                                                                   ChainCheckpoint.seq == row.seq)).one()
        checkpoint.hash = row.hash
    return seq


def delete_whole_chain(session: Session, chain: str) -> None:
    session.execute(delete(InstanceEvent).where(InstanceEvent.chain == chain))
    session.execute(delete(ChainCheckpoint).where(ChainCheckpoint.chain == chain))
    session.execute(delete(ChainHead).where(ChainHead.chain == chain))
    return None


CASES: dict[str, tuple[Forgery, str]] = {
    "edit_payload": (edit_payload, "does not match its hash (edited)"),
    "delete_middle": (delete_middle, "row missing"),
    "delete_tail": (delete_tail, "deleted (their signed checkpoints remain)"),
    "delete_tail_and_its_checkpoint": (delete_tail_and_its_checkpoint, "signed head says"),
    "insert_middle": (insert_middle, "rewritten"),
    "append_row": (append_row, "no signed checkpoint"),
    "rewrite_chain": (rewrite_chain, "row rewritten"),
    "rewrite_chain_and_drop_checkpoints": (rewrite_chain_and_drop_checkpoints, "head signature invalid"),
    "forge_checkpoints": (forge_checkpoints, "checkpoint signature invalid"),
    "delete_whole_chain": (delete_whole_chain, "has no history"),
}


@pytest.fixture
def recorded(app: Flask, settings: Settings, deploy: Callable[..., DefinitionOut], clock: SimulatedClock,
             tmp_path: Path) -> tuple[str, Path]:
    deploy("sample_review")
    instance_id = start(app, "sample_review", {"project": "示范"})
    for bpmn_id in ("review_land", "review_design", "review_fire"):
        clock.advance(timedelta(hours=1))
        complete(app, instance_id, bpmn_id, APPROVE)
    start(app, "sample_review", {"project": "旁观者"}, business_key="P-other")  # an untouched neighbour
    return instance_id, cli_config(settings, tmp_path)


def test_an_untouched_history_verifies(recorded: tuple[str, Path]) -> None:
    _instance_id, config = recorded
    result = run_cli(config, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "all history chains verify" in result.output


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_forgery_fails_verification_naming_the_place(app: Flask, recorded: tuple[str, Path],
                                                          case: str) -> None:
    instance_id, config = recorded
    forge, message = CASES[case]
    with engine_state(app).sessions.begin() as session:
        seq = forge(session, instance_id)
    result = run_cli(config, "audit", "verify")
    assert result.exit_code == 1, result.output
    failures = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1, "only the forged chain fails"
    where = f"{instance_id}#{seq}" if seq is not None else instance_id
    assert failures[0].startswith(f"FAIL {where}:"), failures[0]
    assert message in failures[0]


def test_the_system_chain_is_checked_too(app: Flask, recorded: tuple[str, Path]) -> None:
    _instance_id, config = recorded
    with engine_state(app).sessions.begin() as session:
        row = _rows(session, "system")[0]
        row.actor = "someone-else"
    result = run_cli(config, "audit", "verify")
    assert result.exit_code == 1 and "FAIL system#1: row content does not match its hash" in result.output
