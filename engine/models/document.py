"""Stored files (issue 8): applicants' materials and scans, and the PDFs of permits and notices.

The bytes live on disk under `var/docstore/` named by the row's generated id, never by the uploaded name; the row
keeps the checked type, size, SHA-256, owner, and how long the record must be retained."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(primary_key=True)  # uuid4 hex: also the file's name in the store
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"), index=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    credit_code: Mapped[str] = mapped_column(index=True)  # the enterprise the document belongs to
    purpose: Mapped[str]  # material | correction | supply | revision | permit | notice
    material_code: Mapped[str | None]
    file_name: Mapped[str]  # the checked display name (download name only)
    file_type: Mapped[str]  # pdf | png | jpeg | ofd | docx | xlsx (from the content, not the name)
    content_type: Mapped[str]
    size: Mapped[int]
    sha256: Mapped[str]
    storage_key: Mapped[str]  # path relative to the store's root
    channel: Mapped[str]  # online | window | system
    uploaded_by: Mapped[str]
    uploaded_at: Mapped[datetime]
    retention_class: Mapped[str]
    retain_until: Mapped[date]
    # Generated documents: the permit or notice they render and the public verification code printed on them.
    subject_kind: Mapped[str | None]  # permit | notice
    subject_id: Mapped[str | None] = mapped_column(unique=True)
    verification_code: Mapped[str | None] = mapped_column(unique=True)
