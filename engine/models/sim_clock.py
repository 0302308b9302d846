"""The simulated time shared by every process (`[clock] mode = "simulated"`): a single row, id 1."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class SimulatedTime(Base):
    __tablename__ = "simulated_time"

    id: Mapped[int] = mapped_column(primary_key=True)
    now: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]
