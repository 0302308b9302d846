"""A transaction's history events, written together: one executemany INSERT for the events, one for their signed
checkpoints and one statement per chain head, instead of an ORM object (and its flush) per row. On PostgreSQL the
three go in one pipelined round trip (services/pg_pipeline.py).

`history.record` locks and reads each chain head once per transaction (a command's locked read of its instance
already read and locked the instance's: `known_head`), computes every hash and signature in Python and appends
the rows here. They are written by `write(session)`, which the command path
calls at the end of `execution.persist`, and in any case before the transaction commits, before a statement
that reads the history tables, and at once while a savepoint is open. A rollback drops them with the transaction.

Savepoints: rows buffered before `begin_nested()` could end up inside the savepoint and vanish with its rollback,
so opening one with rows buffered is refused (write them first); the engine itself uses no savepoints.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from engine.models import ChainCheckpoint, ChainHead, InstanceEvent
from engine.services import core_rows, dbapi_path, pg_pipeline

GENESIS = "0" * 64  # the prev_hash of a chain's first row
_KEY = "engine.history.batch"
_EVENTS, _HEADS, _CHECKPOINTS = InstanceEvent.__table__, ChainHead.__table__, ChainCheckpoint.__table__
_HISTORY_TABLES = frozenset({InstanceEvent.__tablename__, ChainHead.__tablename__, ChainCheckpoint.__tablename__})


@dataclass
class Head:
    """A chain head this transaction holds locked (or creates): the values it will have once written."""

    chain: str
    last_seq: int
    last_hash: str
    stored: bool  # a row exists: UPDATE it; else INSERT
    key: bytes = b""  # the audit key its signature is made with when it is written (not once per event)
    updated_at: datetime | None = None
    changed: bool = False


@dataclass
class Batch:
    transaction: SessionTransaction
    heads: dict[str, Head] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


def batch(session: Session) -> Batch:
    """This transaction's batch (a new one for a new transaction: what a rolled-back one held is gone)."""
    transaction = session.get_transaction()
    if transaction is None:  # nothing ran yet: begin as the head's SELECT would (autobegin)
        session.connection()
        transaction = session.get_transaction()
        assert transaction is not None
    current: Batch | None = session.info.get(_KEY)
    if current is None or current.transaction is not transaction:
        current = Batch(transaction)
        session.info[_KEY] = current
    return current


def locked_head(session: Session, chain: str) -> Head:
    """The chain's head, locked (FOR UPDATE) and read at most once per transaction."""
    current = batch(session)
    head = current.heads.get(chain)
    if head is None:
        # On the connection, so the history-read hook below does not write the buffered rows first: they belong
        # to chains already in the batch, never to this one.
        row = core_rows.read(session, _LOCK_HEAD, {"chain": chain}).one_or_none()
        head = Head(chain, row.last_seq, row.last_hash, stored=True) if row else Head(chain, 0, GENESIS, stored=False)
        current.heads[chain] = head
    return head


def known_head(session: Session, chain: str, last_seq: int, last_hash: str) -> None:
    """The chain's head as a locked read of its instance read and locked it (`core_rows.LockedRead` with `head`):
    `locked_head` will not read it again. A head this transaction already holds is kept (it may have events
    buffered)."""
    batch(session).heads.setdefault(chain, Head(chain, last_seq, last_hash, stored=True))


def sign_head(key: bytes, chain: str, seq: int, last_hash: str) -> str:
    return hmac.digest(key, f"{chain}|{seq}|{last_hash}".encode(), "sha256").hex()


def new_chain(session: Session, chain: str) -> None:
    """A chain this transaction creates (a new instance's): no head row can exist, so none is read. Were one
    there, writing the head would fail on its key, and the command path re-applies the command."""
    batch(session).heads.setdefault(chain, Head(chain, 0, GENESIS, stored=False))


def write(session: Session) -> None:
    """Write the buffered rows (heads first: two transactions racing to create a chain conflict on its head,
    which the command path re-applies)."""
    current: Batch | None = session.info.get(_KEY)
    if current is None or not current.events or current.transaction is not session.get_transaction():
        return
    events, checkpoints = current.events, current.checkpoints
    current.events, current.checkpoints = [], []
    session.flush()  # rows the events refer to (a new instance) first
    connection = session.connection()
    steps: list[pg_pipeline.Step] = []
    written = []
    for head in current.heads.values():
        if not head.changed:
            continue
        values = {"last_seq": head.last_seq, "last_hash": head.last_hash,
                  "signature": sign_head(head.key, head.chain, head.last_seq, head.last_hash),
                  "updated_at": head.updated_at}
        if head.stored:
            steps.append((_UPDATE_HEAD, {"head_chain": head.chain, **values}))
        else:
            steps.append((_INSERT_HEAD, {"chain": head.chain, **values}))
        written.append(head)
    steps += [(_INSERT_EVENTS, events), (_INSERT_CHECKPOINTS, checkpoints)]
    if not pg_pipeline.run(connection, steps):  # PostgreSQL: one round trip for all of them
        for statement, params in steps:
            dbapi_path.execute(connection, statement, params)
    for head in written:
        head.stored, head.changed = True, False


# Built once, values bound per call (building a statement costs about as much as running it here).
_LOCK_HEAD = (select(ChainHead.last_seq, ChainHead.last_hash).where(ChainHead.chain == bindparam("chain"))
              .with_for_update())
_UPDATE_HEAD = update(_HEADS).where(_HEADS.c.chain == bindparam("head_chain"))  # SET: the other keys given
_INSERT_HEAD = insert(_HEADS)
_INSERT_EVENTS = insert(_EVENTS)
_INSERT_CHECKPOINTS = insert(_CHECKPOINTS)


def _reads_history(state: ORMExecuteState) -> bool:
    statement: Any = state.statement
    if not state.is_select:
        table = getattr(statement, "table", None)
        return table is None or getattr(table, "name", None) in _HISTORY_TABLES
    if statement.__dict__.get("_setup_joins") or statement.__dict__.get("_from_obj"):
        return True  # a join or an explicit FROM: do not guess
    mappers = state.all_mappers
    # No entity (text, Core tables, `select(func.count()).where(...)`): assume it may read history.
    return not mappers or any(m.local_table.name in _HISTORY_TABLES for m in mappers)


@event.listens_for(Session, "do_orm_execute")
def _before_history_read(state: ORMExecuteState) -> None:
    current: Batch | None = state.session.info.get(_KEY)
    if current is not None and current.events and _reads_history(state):
        write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "after_transaction_create")
def _refuse_savepoint_over_buffer(session: Session, transaction: SessionTransaction) -> None:
    current: Batch | None = session.info.get(_KEY)
    if transaction.nested and current is not None and current.events:
        raise RuntimeError("history events are buffered: call event_batch.write(session) before begin_nested()")


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: SessionTransaction) -> None:
    # A savepoint's rollback undoes head changes written inside it: re-read the heads next time.
    session.info.pop(_KEY, None)
