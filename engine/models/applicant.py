"""Applicant profiles, entered once and reused by every approval of every project (7 submissions → 1).

`submissions` counts how often the applicant (or the window on their behalf) submitted the profile; each
submission is also a `ProfileSubmission` row naming the fields it changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class Applicant(Base):
    __tablename__ = "applicants"

    credit_code: Mapped[str] = mapped_column(primary_key=True)  # 统一社会信用代码, validated with its check digit
    name: Mapped[str]
    legal_representative: Mapped[str]
    contact_name: Mapped[str]
    contact_phone: Mapped[str]
    address: Mapped[str]
    email: Mapped[str | None]
    submissions: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProfileSubmission(Base):
    __tablename__ = "profile_submissions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("applicants.credit_code"), index=True)
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str]
    changed: Mapped[list[Any]]  # names of the fields this submission set or changed
