"""Append-only, hash-chained history: record events, list them, verify every chain.

hash = SHA-256 of canonical JSON of (instance_id, seq, kind, at, actor, payload, prev_hash); each chain's head
is HMAC-signed with a key that lives outside the database (DESIGN.md §3.4, §6).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import json_values
from engine.models import ChainCheckpoint, ChainHead, InstanceEvent, ProcessInstance
from engine.models.instance_event import SYSTEM_CHAIN
from engine.services import event_batch

GENESIS = event_batch.GENESIS


# The last instant formatted and its text: a command's events share its `now` (one strftime instead of one per
# event and per date in a payload). Keyed on identity (datetimes are immutable; the memo keeps it alive); one
# tuple, replaced whole, so threads never see a text beside another instant.
_last_at: tuple[datetime | None, str] = (None, "")


def format_at(at: datetime) -> str:
    global _last_at
    last = _last_at
    if last[0] is at:
        return last[1]
    text = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _last_at = (at, text)
    return text


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return format_at(obj)
    return str(obj)


# Built once: json.dumps with options builds an encoder per call. The same options as json.dumps was given, so
# the same text (an encoder keeps no state between calls: safe to share between threads).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_CANONICAL_DEFAULT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def jsonable(payload: Any) -> Any:
    """Payloads are stored as JSON: normalise them now so the stored row hashes the same as the recorded one.

    A flat dict of str keys and JSON scalars (exactly those types: most events) comes back from the round trip as
    the same keys and values, sorted: that dict is built directly (two C passes and a sort instead of an encode
    and a parse; tests/unit/services/test_history_jsonable.py compares both). So is a str-keyed dict whose other
    values are datetimes (the text `_default` writes) or lists and tuples of JSON scalars (a new list): the
    engine's own events (a task's or timer's due, candidate groups, the elements a command completed)."""
    if type(payload) is dict:
        if json_values.flat(payload):
            return {key: payload[key] for key in sorted(payload)}
        if json_values.str_keys(payload):
            normal = {}
            for key in sorted(payload):
                value = payload[key]
                kind = type(value)
                if kind in json_values.SCALARS:
                    normal[key] = value
                elif kind is datetime:
                    normal[key] = format_at(value)
                elif (kind is list or kind is tuple) and json_values.SCALARS.issuperset(map(type, value)):
                    normal[key] = list(value)
                else:
                    break
            else:
                return normal
    return json.loads(_CANONICAL_DEFAULT.encode(payload))


def canonical_default(value: Any) -> str:
    return _CANONICAL_DEFAULT.encode(value)


def event_hash(instance_id: str | None, seq: int, kind: str, at: datetime, actor: str,
               payload: Any, prev_hash: str) -> str:
    body = {
        "instance_id": instance_id,
        "seq": seq,
        "kind": kind,
        "at": format_at(at),
        "actor": actor,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


sign_head = event_batch.sign_head  # signed when written: only a transaction's last head is stored


def sign_checkpoint(key: bytes, chain: str, seq: int, digest: str) -> str:
    return hmac.digest(key, f"checkpoint|{chain}|{seq}|{digest}".encode(), "sha256").hex()


@dataclass(frozen=True)
class Recorded:
    """An appended event as written (it reaches the table with the transaction's other events)."""

    chain: str
    seq: int
    hash: str


def record(
    session: Session,
    *,
    hmac_key: bytes,
    instance_id: str | None,
    kind: str,
    actor: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
) -> Recorded:
    """Append one event to its chain. Callers hold the instance lock (or, for `system`, the head row lock).

    The row, its signed checkpoint and the signed head are buffered and written with the transaction's other
    events (services/event_batch.py): one INSERT for all of a command's events instead of a flush per row."""
    chain = instance_id or SYSTEM_CHAIN
    head = event_batch.locked_head(session, chain)
    seq, prev_hash = head.last_seq + 1, head.last_hash
    body = jsonable(payload or {})
    kind = str(kind)
    digest = event_hash(instance_id, seq, kind, at, actor, body, prev_hash)
    pending = event_batch.batch(session)
    pending.events.append({"chain": chain, "instance_id": instance_id, "seq": seq, "kind": kind, "at": at,
                           "actor": actor, "payload": body, "prev_hash": prev_hash, "hash": digest})
    pending.checkpoints.append({"chain": chain, "seq": seq, "hash": digest,
                                "signature": sign_checkpoint(hmac_key, chain, seq, digest)})
    head.last_seq, head.last_hash, head.updated_at, head.changed, head.key = seq, digest, at, True, hmac_key
    if session.in_nested_transaction():
        event_batch.write(session)  # a savepoint's rollback must take its rows with it
    return Recorded(chain, seq, digest)


def new_chain(session: Session, chain: str) -> None:
    """The chain begins in this transaction (a new instance's): its head is not read (event_batch.new_chain)."""
    event_batch.new_chain(session, chain)


def write_pending(session: Session) -> None:
    """Write this transaction's buffered events now (also done before commit and before history reads)."""
    event_batch.write(session)


def list_events(session: Session, instance_id: str, *, after_seq: int = 0, limit: int | None = None
                ) -> Sequence[InstanceEvent]:
    query = (
        select(InstanceEvent)
        .where(InstanceEvent.chain == instance_id, InstanceEvent.seq > after_seq)
        .order_by(InstanceEvent.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.chain}#{self.seq}" if self.seq is not None else self.chain
        return f"{where}: {self.problem}"


def verify_chain(events: Sequence[InstanceEvent], head: ChainHead | None, hmac_key: bytes, chain: str,
                 checkpoints: dict[int, ChainCheckpoint] | None = None) -> ChainProblem | None:
    """The first problem in one chain, or None.

    Each row is checked against its signed checkpoint (when the chain has them: rows written before checkpoints
    existed have none), then linked to the previous row and rehashed; the chain's end is checked against the
    signed head. A forger can recompute hashes but cannot sign them, so a rewrite is named at its first row.
    """
    checkpoints = checkpoints or {}
    sealed_from = min(checkpoints) if checkpoints else None
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            return ChainProblem(chain, expected_seq, f"row missing or inserted (found seq {event.seq})")
        checkpoint = checkpoints.get(event.seq)
        if checkpoint is not None:
            if not hmac.compare_digest(checkpoint.signature,
                                       sign_checkpoint(hmac_key, chain, checkpoint.seq, checkpoint.hash)):
                return ChainProblem(chain, event.seq, "checkpoint signature invalid (checkpoint forged)")
            if checkpoint.hash != event.hash:
                return ChainProblem(chain, event.seq, "row rewritten: its hash is not the one signed when it was "
                                                      "written")
        elif sealed_from is not None and event.seq >= sealed_from:
            return ChainProblem(chain, event.seq, "row has no signed checkpoint (inserted, or its checkpoint "
                                                  "deleted)")
        if event.prev_hash != prev_hash:
            return ChainProblem(chain, event.seq, "prev_hash does not match the previous row (a row before it "
                                                  "was removed, inserted or changed)")
        digest = event_hash(event.instance_id, event.seq, event.kind, event.at, event.actor, event.payload,
                            event.prev_hash)
        if digest != event.hash:
            return ChainProblem(chain, event.seq, "row content does not match its hash (edited)")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    last_seq = expected_seq - 1
    beyond = sorted(seq for seq in checkpoints if seq > last_seq)
    if beyond:
        return ChainProblem(chain, last_seq + 1, f"rows #{last_seq + 1}..#{beyond[-1]} deleted (their signed "
                                                 f"checkpoints remain)")
    if head is None:
        return ChainProblem(chain, None, "no signed head for this chain") if events else None
    if head.last_seq != last_seq:
        return ChainProblem(chain, last_seq + 1, f"chain ends at seq {last_seq} but the signed head says "
                                                 f"{head.last_seq} (rows deleted or appended)")
    if head.last_hash != prev_hash:
        return ChainProblem(chain, last_seq, "the last row's hash differs from the signed head (chain rewritten)")
    if not hmac.compare_digest(head.signature, sign_head(hmac_key, chain, head.last_seq, head.last_hash)):
        return ChainProblem(chain, head.last_seq, "head signature invalid (chain rewritten)")
    return None


def verify_all(session: Session, hmac_key: bytes) -> list[ChainProblem]:
    problems = []
    chains = set(session.scalars(select(InstanceEvent.chain).distinct()))
    heads = {h.chain: h for h in session.scalars(select(ChainHead))}
    checkpoint_chains = set(session.scalars(select(ChainCheckpoint.chain).distinct()))
    for chain in sorted(chains | set(heads) | checkpoint_chains):
        events = session.scalars(
            select(InstanceEvent).where(InstanceEvent.chain == chain).order_by(InstanceEvent.seq)
        ).all()
        checkpoints = {c.seq: c for c in session.scalars(select(ChainCheckpoint).where(ChainCheckpoint.chain == chain))}
        problem = verify_chain(events, heads.get(chain), hmac_key, chain, checkpoints)
        if problem:
            problems.append(problem)
    # An instance whose whole chain (rows, checkpoints and head) was deleted leaves nothing to recompute.
    for instance_id in session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)):
        if instance_id not in chains | set(heads) | checkpoint_chains:
            problems.append(ChainProblem(instance_id, None, "the instance has no history (its chain was deleted)"))
    return problems


def count_events(session: Session, instance_id: str) -> int:
    return session.scalar(select(func.count()).where(InstanceEvent.chain == instance_id)) or 0
