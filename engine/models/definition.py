"""A deployed, versioned BPMN process with the form files it referenced, snapshotted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ProcessDefinition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(index=True)
    version: Mapped[int]
    name: Mapped[str | None]
    file_name: Mapped[str]
    bpmn_sha256: Mapped[str]
    # sha256 over the BPMN bytes and every referenced form file: unchanged content makes no new version.
    content_sha256: Mapped[str] = mapped_column(index=True)
    source_xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict[str, Any]]  # form file name -> parsed JSON Schema, as deployed
    elements: Mapped[dict[str, Any]]  # bpmn id -> type, name, lane, candidate groups, form, properties
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str]
