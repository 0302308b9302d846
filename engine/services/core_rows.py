"""Core reads and writes of the command path's rows (task, timer and job rows, the instance, chain heads): one
prebuilt statement executed on the session's connection, instead of an ORM object whose change the unit of work
diffs and flushes (issue 14: a flush cost ~0.17 ms of CPU per changed row, a Core UPDATE ~0.03 ms), and for the
column reads without the ORM's per-statement work (its execute events, compile state and row loading).

The ORM must not keep stale copies: an object of an updated row that the session holds (the caller's, or one in
its identity map) gets the written values as its committed state, so later reads of it see the row as written
and no flush writes it again. Rows inserted here are not put in the session; an ORM read loads them from the
database like any other row.

Writes run at once, in call order, inside the caller's transaction: the same statements, locks and lock order as
the flushes they replace (the instance row is locked before any of these runs). On SQLite they and the reads run on
the sqlite3 connection with SQL compiled once (services/dbapi_path.py).

A command's first read, the rows it locks (`LockedRead`), gives ORM objects made from a Core read: timed in place
during approval_9 (issue 14, bench/README.md), the ORM's query took ~0.8 ms per command, the Core read and the
objects ~0.4 ms, the transaction's BEGIN included in both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Insert,
    Result,
    Select,
    Table,
    Update,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, attributes, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from engine.db import Base
from engine.models import ChainHead, ProcessInstance
from engine.services import dbapi_path

HeadHook = Callable[[Session, str, int, str], None]  # (session, chain, last_seq, last_hash): event_batch.known_head

_ID, _VERSION, _BY = "row_id", "row_version", "row_value"  # bind names: no table has such a column


def read(session: Session, statement: Select[Any] | Update, params: Mapping[str, Any]) -> dbapi_path.Rows | Result[Any]:
    """`session.execute(statement, params)` for a column read (or an UPDATE's RETURNING): what the session holds
    changed is flushed first, as autoflush would, so the read sees it. Rows named by column, as SQLAlchemy's
    (`dbapi_path.query`)."""
    if session.autoflush:
        session.flush()
    return dbapi_path.query(session.connection(), statement, params)


class LockedRead:
    """One row of each of `models` (joined in `from_`, the first table first), read FOR UPDATE in one statement, as
    persistent ORM objects: what `session.execute(select(*models).select_from(from_).where(where)
    .with_for_update().execution_options(populate_existing=True))` gives, with the same SQL and locks (FOR UPDATE
    without OF locks the row of every table in FROM, in FROM order on PostgreSQL) and without the ORM's
    per-statement work. Each object is made as a query leaves it: its columns' values committed, no history, in
    the session's identity map. An object of the same row that the session already holds gets the values read
    instead (populate_existing: a pending change to it is overwritten).

    With `head` (the first model an instance), the instance's history chain head is read and locked in the same
    statement (joined last: locked after the other rows, as the command's first event locked it before) and handed
    to `head`, so that event does not read it again (issue 14: one statement fewer per command). An instance
    whose chain has no head row yet is read again without it."""

    def __init__(self, models: tuple[type[Base], ...], from_: FromClause, where: ColumnElement[bool],
                 head: HeadHook | None = None) -> None:
        self.models = models
        self.keys: list[tuple[str, ...]] = []  # each model's attribute names, in its columns' order
        columns = []
        for index, model in enumerate(models):
            table_columns = list(model.__table__.c)  # type: ignore[attr-defined]
            self.keys.append(tuple(model.__mapper__.get_property_by_column(c).key for c in table_columns))
            columns += [c.label(f"m{index}_{c.name}") for c in table_columns]  # unique names across the tables
        self.statement = select(*columns).select_from(from_).where(where).with_for_update()
        self.head = head
        self.with_head = None
        if head is not None:
            heads = ChainHead.__table__
            chain = models[0].__table__.c.id  # type: ignore[attr-defined]
            self.with_head = (select(*columns, heads.c.last_seq.label("head_seq"), heads.c.last_hash.label("head_hash"))
                              .select_from(from_.join(heads, heads.c.chain == chain)).where(where).with_for_update())
        self.configured = False

    def load(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The objects, in `models` order; None if no row matches."""
        if not self.configured:  # an ORM query would configure the mappers first: the attributes' instrumentation
            configure_mappers()
            self.configured = True
        head = None
        if self.with_head is not None:
            row = read(session, self.with_head, params).one_or_none()
            if row is not None:
                head = row[-2:]
        if head is None:
            row = read(session, self.statement, params).one_or_none()
            if row is None:
                return None
        objects, start = [], 0
        for model, keys in zip(self.models, self.keys):
            objects.append(_persistent(session, model, dict(zip(keys, row[start:start + len(keys)]))))
            start += len(keys)
        if head is not None:
            self.head(session, objects[0].id, *head)  # type: ignore[misc]
        return tuple(objects)


def _persistent(session: Session, model: type[Base], values: dict[str, Any]) -> Any:
    """The session's object of the row with `values` (every column's), as if a query had just loaded it."""
    mapper = model.__mapper__
    held = session.identity_map.get(mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key]))
    if held is not None:
        _committed(held, values)
        return held
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)  # the instance's state dict, as the ORM's loader fills it: no attribute events
    make_transient_to_detached(obj)  # committed, with its identity key: detached
    session.add(obj)  # persistent: in the identity map, nothing to flush
    return obj


def first_by(session: Session, model: type[Base], column: str, value: Any) -> Any:
    """`session.scalars(select(model).where(<column> == value)).first()` (with autoflush), without building the
    statement and running the ORM's query machinery per call: the session's object of a row, or None. For a lookup
    by a unique key (a job id: the bureau's idempotency check, ~0.2 ms of each record it writes)."""
    found = objects(session, model, _by_column(model, column), {_BY: value})
    return found[0] if found else None


def objects(session: Session, model: type[Base], statement: Select[Any], params: Mapping[str, Any]) -> list[Any]:
    """The session's objects of the rows `statement` reads (every column of `model`'s table, in the table's order:
    `select(*table.c)`), as `session.scalars(select(model)...)` gives them (autoflush first; an object the session
    holds is given as it is, a pending change kept: no populate_existing), without the ORM's query machinery."""
    keys, primary = _keys(model)
    mapper, identity_map, found = model.__mapper__, session.identity_map, []
    for row in read(session, statement, params):
        held = identity_map.get(mapper.identity_key_from_primary_key([row[i] for i in primary]))
        found.append(held if held is not None else _persistent(session, model, dict(zip(keys, row))))
    return found


def get(session: Session, model: type[Base], key: Any) -> Any:
    """`session.get(model, key)` (a one-column primary key, a row this session does not delete): the object the
    session holds, else the row read by `first_by` (the ORM's load by key cost ~0.2 ms of a command that
    closes a task row, or of the bureau's profile lookup)."""
    held = session.identity_map.get(identity_key(model, key))
    if held is not None:
        return held
    (column,) = model.__mapper__.primary_key
    return first_by(session, model, column.name, key)


def insert_new(session: Session, *objects: Base) -> None:
    """`session.add(obj); session.flush()` for new objects whose every column gets its value from the object or a
    constant default (no key the database makes): one INSERT per object, and each object persistent and clean
    afterwards, as a flush leaves it, without the unit of work (~0.2 ms of each record the bureau writes)."""
    for obj in objects:
        state = attributes.instance_state(obj)
        if not state.transient:
            raise ValueError(f"{obj!r} is not a new object")
        model = type(obj)
        values = {}
        for key, column in _columns(model):
            if key in state.dict:
                values[key] = state.dict[key]
            elif not column.primary_key and column.server_default is None \
                    and (column.default is None or column.default.is_scalar):
                values[key] = column.default.arg if column.default is not None else None
            else:
                raise ValueError(f"{model.__name__}.{key} would be made by the database: flush the object instead")
        insert_rows(session, model, [values])
        for key, value in values.items():
            state.dict[key] = value  # what the flush would leave: every column loaded, nothing changed
        make_transient_to_detached(obj)
        session.add(obj)


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (every row with the same keys: one executemany)."""
    if rows:
        dbapi_path.execute(session.connection(), _insert(model.__table__), rows)


def insert_object(session: Session, model: type[Base], values: Mapping[str, Any]) -> Any:
    """INSERT one row (`values`: every column's) and give the session's object of it, persistent and clean, as a
    query would after the insert: no ORM object added and flushed (the unit of work's cost)."""
    insert_rows(session, model, [values])
    return _persistent(session, model, dict(values))


def update_row(session: Session, model: type[Base], row_id: str, values: Mapping[str, Any]) -> None:
    """UPDATE one row by id (SET the keys of `values`); a copy in the session's identity map is kept in step."""
    if not values:
        return
    dbapi_path.execute(session.connection(), _update(model.__table__), {_ID: row_id, **values})
    held = session.identity_map.get(identity_key(model, row_id))
    if held is not None:
        _committed(held, values)


def update_object(session: Session, obj: Base, values: Mapping[str, Any]) -> None:
    """`update_row` for a loaded object: `obj` holds `values` as committed afterwards."""
    if not values:
        return
    dbapi_path.execute(session.connection(), _update(type(obj).__table__),  # type: ignore[attr-defined]
                         {_ID: obj.id, **values})
    _committed(obj, values)


def save_instance(session: Session, instance: ProcessInstance, values: Mapping[str, Any]) -> None:
    """UPDATE the instance with `values` and whatever ORM changes it still has pending, bumping `lock_version` only
    if it is still the one read (the version check the ORM's `version_id_col` does: StaleDataError otherwise)."""
    state = attributes.instance_state(instance)
    pending = {key: state.dict[key] for key in state.committed_state}  # set on the object, not flushed yet
    version = instance.lock_version
    row = {**pending, **values, "lock_version": version + 1}
    matched = dbapi_path.execute(session.connection(), _versioned_update(ProcessInstance.__table__),
                                   {_ID: instance.id, _VERSION: version, **row})
    if matched != 1:
        raise StaleDataError(f"UPDATE statement on table 'process_instances' expected to update 1 row(s); "
                             f"{matched} were matched.")
    _committed(instance, row)


def _committed(obj: Base, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        attributes.set_committed_value(obj, key, value)


# Built once per table, values bound per call; the SET clause is the keys given (SQLAlchemy caches the compiled
# form per key set).
@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _columns(model: type[Base]) -> tuple[tuple[str, Column[Any]], ...]:
    configure_mappers()  # as an ORM query would first (LockedRead.load): the attributes' instrumentation
    mapper = model.__mapper__
    return tuple((mapper.get_property_by_column(c).key, c) for c in model.__table__.c)  # type: ignore[attr-defined]


@functools.cache
def _keys(model: type[Base]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attribute names of the table's columns, in order, and where the primary key's are among them."""
    keys = tuple(key for key, _column in _columns(model))
    mapper = model.__mapper__
    return keys, tuple(keys.index(mapper.get_property_by_column(c).key) for c in mapper.primary_key)


@functools.cache
def _by_column(model: type[Base], column: str) -> Select[Any]:
    table: Table = model.__table__  # type: ignore[assignment]
    return select(*table.c).where(table.c[column] == bindparam(_BY)).limit(1)


@functools.cache
def _update(table: Table) -> Update:
    return update(table).where(table.c.id == bindparam(_ID))


@functools.cache
def _versioned_update(table: Table) -> Update:
    return update(table).where(table.c.id == bindparam(_ID), table.c.lock_version == bindparam(_VERSION))
