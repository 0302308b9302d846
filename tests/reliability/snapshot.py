"""Every row of every engine table, to prove that a refused request changed nothing (DESIGN.md §3.6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from engine.db import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


def take(db_engine: Engine) -> Snapshot:
    present = set(inspect(db_engine).get_table_names())
    tables = [t for t in Base.metadata.sorted_tables if t.name in present]
    with db_engine.connect() as conn:
        return {t.name: [tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in tables}


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables whose rows differ, with counts: empty when nothing changed."""
    return [f"{name}: {len(before.get(name, []))} -> {len(after.get(name, []))} rows"
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
