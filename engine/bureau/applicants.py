"""Applicant profiles: submitted once (validated, credit code check digit included), stored once per applicant,
reused by every approval of every project of that applicant. Every accepted submission is counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bureau import uscc
from engine.bureau.errors import ApplicantNotFound
from engine.errors import FieldError, FormInvalid
from engine.models import Applicant, ProfileSubmission
from engine.services import core_rows
from engine.services.forms import read_form, validate_form

PROFILE_FORM = "applicant_profile.schema.json"
FIELDS = ("name", "legal_representative", "contact_name", "contact_phone", "address", "email")


@dataclass(frozen=True)
class ProfileOut:
    credit_code: str
    name: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    address: str
    email: str | None
    submissions: int
    created: bool = False
    changed: list[str] = field(default_factory=list)

    @classmethod
    def from_model(cls, row: Applicant, *, created: bool = False, changed: list[str] | None = None) -> ProfileOut:
        return cls(row.credit_code, row.name, row.legal_representative, row.contact_name, row.contact_phone,
                   row.address, row.email, row.submissions, created, list(changed or []))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def as_task_data(self) -> dict[str, Any]:
        """What a process sees as `applicant` (forms prefill from it)."""
        return {"credit_code": self.credit_code, "name": self.name,
                "legal_representative": self.legal_representative, "contact_name": self.contact_name,
                "contact_phone": self.contact_phone, "address": self.address, "email": self.email}


def profile_form(forms_dir: Path) -> dict[str, Any]:
    return read_form(forms_dir, PROFILE_FORM, bpmn_file="applicant profile")


def submit_profile(session: Session, forms_dir: Path, data: Any, *, actor: str, now: datetime) -> ProfileOut:
    """Validate and store the profile (create or update); count the submission. Bad input changes nothing."""
    validate_form(profile_form(forms_dir), data)
    try:
        code = uscc.validate(data["credit_code"])
    except uscc.InvalidCreditCode as exc:
        raise FormInvalid([FieldError("credit_code", f"统一社会信用代码：{exc.message_zh}")]) from exc
    values = {name: (data.get(name) or None) if name == "email" else str(data[name]).strip() for name in FIELDS}
    row = session.get(Applicant, code)
    created = row is None
    if row is None:
        row = Applicant(credit_code=code, submissions=0, created_at=now, updated_at=now, **values)
        session.add(row)
        changed = [name for name in FIELDS if values[name] is not None]
    else:
        changed = [name for name in FIELDS if getattr(row, name) != values[name]]
        for name in changed:
            setattr(row, name, values[name])
        row.updated_at = now
    row.submissions = (row.submissions or 0) + 1
    session.add(ProfileSubmission(credit_code=code, submitted_at=now, submitted_by=actor, changed=changed))
    session.flush()
    return ProfileOut.from_model(row, created=created, changed=changed)


def get_profile(session: Session, credit_code: str) -> ProfileOut:
    row = session.get(Applicant, uscc.normalize(credit_code)) if isinstance(credit_code, str) else None
    if row is None:
        raise ApplicantNotFound(f"no applicant profile for credit code {credit_code}")
    return ProfileOut.from_model(row)


def find_profile(session: Session, credit_code: str) -> ProfileOut | None:
    row = core_rows.get(session, Applicant, uscc.normalize(credit_code))
    return ProfileOut.from_model(row) if row is not None else None


def submission_counts(session: Session) -> dict[str, int]:
    """credit code -> profile submissions (reports, simulation)."""
    rows = session.execute(select(ProfileSubmission.credit_code, func.count()).group_by(ProfileSubmission.credit_code))
    return {code: int(count) for code, count in rows}
