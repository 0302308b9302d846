"""A running or finished case: Spiff state (state-only JSON) plus the version counter that guards it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, ForeignKey, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class ProcessInstance(Base):
    __tablename__ = "process_instances"

    id: Mapped[str] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_key: Mapped[str] = mapped_column(index=True)
    business_key: Mapped[str | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(index=True)
    state_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str]
    lock_version: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    started_by: Mapped[str]
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": lock_version}


# PostgreSQL stores the state (~25-150 KB of JSON) out of line and compresses it on every save, by default with pglz,
# whose cost lands on the server beside each command. lz4 (PostgreSQL 14 and later, when built with it) compresses
# several times faster for about the same size (issue 14: approval_9 on PostgreSQL, three alternated pairs of
# runs, 13.4-15.2 instances per second with pglz, 15.6-17.2 with lz4). Set at CREATE TABLE here and by migration
# 0015_state_lz4 on an existing database; rows already stored keep their compression until the next save rewrites
# them. Reads decompress either kind.
STATE_LZ4 = DDL("ALTER TABLE process_instances ALTER COLUMN state_json SET COMPRESSION lz4")
LZ4_AVAILABLE = text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")


def lz4_available(_ddl: Any, _target: Any, bind: Any, **_kw: Any) -> bool:
    return bool(bind.execute(LZ4_AVAILABLE).scalar())


event.listen(ProcessInstance.__table__, "after_create",
             STATE_LZ4.execute_if(dialect="postgresql", callable_=lz4_available))
