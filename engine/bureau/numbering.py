"""Document numbers: one gap-free sequence per series (kind and year), incremented under the writer's lock
(SQLite's single writer; a row lock on PostgreSQL), so two workers never hand out the same number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import DocumentSequence

AREA_CODE = "150100"  # 呼和浩特市 (GB/T 2260 administrative division code)


def next_number(session: Session, series: str) -> int:
    row = session.scalars(select(DocumentSequence).where(DocumentSequence.series == series).with_for_update()).first()
    if row is None:
        row = DocumentSequence(series=series, last=0)
        session.add(row)
    row.last += 1
    session.flush()
    return row.last
