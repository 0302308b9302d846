"""The applicants' side (issue 8): enterprise accounts, applications (a draft until submitted, then one process
instance), signed commitments, trips to the service hall and service ratings (好差评)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ApplicantAccount(Base):
    """A sign-in account acting for one enterprise; one account per enterprise (its credit code)."""

    __tablename__ = "applicant_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("applicants.credit_code"), unique=True)
    created_at: Mapped[datetime]


class Application(Base):
    """One application for one project: the applicant (or the window) fills it in, uploads the materials, signs
    commitments, then submits it, which starts the process instance the engine chose for it."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(unique=True)  # 申报编号, shown on receipts
    credit_code: Mapped[str] = mapped_column(ForeignKey("applicants.credit_code"), index=True)
    channel: Mapped[str]  # online | window
    status: Mapped[str] = mapped_column(index=True)  # draft | submitted | discarded
    kind: Mapped[str]  # commercial | government
    process_key: Mapped[str]
    project_name: Mapped[str]
    district: Mapped[str]
    address: Mapped[str]
    zone_id: Mapped[str | None]
    industry: Mapped[str | None]
    building_area_m2: Mapped[int]
    investment_wan: Mapped[int]  # 万元
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    submitted_by: Mapped[str | None]
    submitted_at: Mapped[datetime | None]


class Commitment(Base):
    """A commitment the applicant signed by explicit confirmation: 容缺 (missing secondary materials supplied by a
    date) or 告知承诺 (the permit conditions are met). The exact text and its SHA-256 are kept; the signature is
    also written to the instance's history (`commitment:signed`)."""

    __tablename__ = "commitments"

    id: Mapped[str] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str]  # rongque | notify_commit
    materials: Mapped[list[Any]]  # rongque: the secondary material codes to be supplied later
    due_wd: Mapped[int | None]  # rongque: working days after acceptance
    text: Mapped[str]
    text_sha256: Mapped[str]
    signer_name: Mapped[str]
    signed_by: Mapped[str]
    signed_at: Mapped[datetime]
    history_seq: Mapped[int | None]  # the `commitment:signed` event, once the instance exists


class Trip(Base):
    """A visit to the service hall for an application (最多跑一次: the goal is at most one)."""

    __tablename__ = "application_trips"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    credit_code: Mapped[str] = mapped_column(index=True)
    at: Mapped[datetime]
    purpose: Mapped[str]  # intake | correction | supply | pickup | other
    clerk: Mapped[str]
    note: Mapped[str | None]


class ServiceRating(Base):
    """好差评: the applicant's rating of the service once the application is finished (5 levels)."""

    __tablename__ = "service_ratings"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    score: Mapped[int]  # 5 非常满意 … 1 非常不满意
    comment: Mapped[str | None]
    rated_by: Mapped[str]
    rated_at: Mapped[datetime]
