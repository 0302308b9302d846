"""An HMAC-signed checkpoint per history event: (chain, seq, hash) as written, signed with the audit key.

The chain's hashes link every row to the previous one, but anyone with database access can recompute them all
after a change. The signed head catches that at the chain's end; the checkpoints name the first rewritten row,
since a forger without the key cannot sign the new hashes (DESIGN.md §3.4, §6).
"""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ChainCheckpoint(Base):
    __tablename__ = "chain_checkpoints"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chain: Mapped[str]  # looked up through the (chain, seq) unique index (migration 0014)
    seq: Mapped[int]
    hash: Mapped[str]
    signature: Mapped[str]
