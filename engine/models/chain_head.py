"""The HMAC-signed head of each history chain, so a deleted tail or a rehashed chain is detected."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ChainHead(Base):
    __tablename__ = "chain_heads"

    chain: Mapped[str] = mapped_column(primary_key=True)
    last_seq: Mapped[int]
    last_hash: Mapped[str]
    signature: Mapped[str]
    updated_at: Mapped[datetime]
