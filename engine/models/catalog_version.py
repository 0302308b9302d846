"""Loaded versions of the matter catalog (事项清单): matters, the listed preconditions and the regional-assessment
zones, stored whole as checked JSON. The newest row is the catalog in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version: Mapped[str]
    title: Mapped[str]
    sample: Mapped[bool]
    sha256: Mapped[str] = mapped_column(index=True)
    source: Mapped[str]
    content: Mapped[dict[str, Any]]
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str]
