"""`BureauDeps`: what the handlers in workers/ reach through `ctx.deps` — each call one transaction on the
engine's database, plain dicts in and out (workers import nothing from the engine but engine.sdk)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from engine.bureau import accountability, applicants, catalog, credit, enforcement, notices, permits, projects
from engine.bureau.notices import FileSender, NoticeSender
from engine.calendar import SHANGHAI
from engine.clock import Clock
from engine.models import Notice, Permit
from engine.services.context import EngineContext

T = TypeVar("T")
ACTOR = "worker"


class Publisher(Protocol):
    """Makes the applicant's official document of a new notice or permit in the same transaction
    (engine/documents/publisher.py: PDF with a verification code, and a message to the applicant)."""

    def notice(self, session: Session, row: Notice) -> object: ...

    def permit(self, session: Session, row: Permit) -> object: ...


class BureauDeps:
    def __init__(self, sessions: sessionmaker[Session], ctx: EngineContext, clock: Clock, *,
                 sender: NoticeSender, documents_dir: Path | None = None, publisher: Publisher | None = None) -> None:
        self.sessions, self.ctx, self.clock = sessions, ctx, clock
        self.sender, self.documents_dir, self.publisher = sender, documents_dir, publisher

    @classmethod
    def from_state(cls, state: Any, *, sender: NoticeSender | None = None, documents: bool = True) -> BureauDeps:
        """Embedded defaults: notices dropped in var/outbox/, permit PDFs written to var/documents/."""
        from engine.documents.publisher import DocumentPublisher

        var = state.settings.path(state.settings.paths.var)
        publisher = DocumentPublisher.from_settings(state.settings, state.ctx) if documents else None
        return cls(state.sessions, state.ctx, state.clock, sender=sender or FileSender(var / "outbox"),
                   documents_dir=var / "documents" if documents else None, publisher=publisher)

    def _tx(self, fn: Callable[[Session], T]) -> T:
        with self.sessions.begin() as session:
            return fn(session)

    def now(self) -> datetime:
        return self.clock.now()

    # --- applicants, credit, catalog -----------------------------------------------------------------------------

    def register_project(self, *, job_id: str, instance_id: str, credit_code: str, name: str, process_key: str,
                         kind: str) -> str:
        return self._tx(lambda s: projects.register(s, job_id=job_id, instance_id=instance_id or None,
                                                    credit_code=credit_code, name=name, process_key=process_key,
                                                    kind=kind, now=self.now()))

    def profile(self, credit_code: str) -> dict[str, Any] | None:
        found = self._tx(lambda s: applicants.find_profile(s, credit_code))
        return found.as_task_data() if found is not None else None

    def credit_status(self, credit_code: str) -> dict[str, Any]:
        return self._tx(lambda s: credit.status(s, credit_code, self.now())).to_json()

    def record_credit(self, *, job_id: str, credit_code: str, kind: str, reason: str, instance_id: str,
                      project_code: str) -> dict[str, Any]:
        row = self._tx(lambda s: credit.record(s, credit_code=credit_code, kind=kind, reason=reason, actor=ACTOR,
                                               now=self.now(), instance_id=instance_id or None,
                                               project_code=project_code, job_id=job_id))
        return {"id": row.id, "kind": row.kind, "recorded_at": row.recorded_at.isoformat()}

    def _catalog(self, session: Session) -> catalog.Catalog:
        return catalog.current_catalog(session, self.ctx.processes_dir)

    def check_materials(self, process: str, materials: list[str], covered: list[str]) -> dict[str, Any]:
        return self._tx(lambda s: self._catalog(s).check_materials(process, materials, covered))

    def zone_coverage(self, zone_id: str, industry: str) -> dict[str, Any]:
        day = self.now().astimezone(SHANGHAI).date()
        return self._tx(lambda s: self._catalog(s).zone_coverage(zone_id, industry, day))

    # --- documents -----------------------------------------------------------------------------------------------

    def send_notice(self, *, job_id: str, kind: str, credit_code: str, project_code: str, project_name: str,
                    instance_id: str, details: dict[str, Any]) -> dict[str, Any]:
        """Number and store the notice, then hand it to the sender (a failure leaves it for dispatch)."""
        row = self._tx(lambda s: self._published_notice(s, notices.create(
            s, job_id=job_id, kind=kind, credit_code=credit_code, project_code=project_code,
            project_name=project_name, instance_id=instance_id or None, details=details, now=self.now())))
        if row.status != notices.SENT:
            error = None
            try:
                self.sender.send(notices.message(row))
            except Exception as exc:  # noqa: BLE001 (any delivery failure is retried by `notices dispatch`)
                error = f"{type(exc).__name__}: {exc}"
            row = self._tx(lambda s: notices.mark(s, row.id, error=error, now=self.now()))
        return {"number": row.number, "kind": row.kind, "title": row.title, "status": row.status}

    def issue_permit(self, *, job_id: str, permit_type: str, title: str, instance_id: str, credit_code: str,
                     project_code: str, project_name: str, by_commitment: bool) -> dict[str, Any]:
        row = self._tx(lambda s: self._published_permit(s, permits.issue(
            s, job_id=job_id, permit_type=permit_type, title=title, instance_id=instance_id or None,
            credit_code=credit_code, project_code=project_code, project_name=project_name,
            by_commitment=by_commitment, now=self.now(), documents_dir=self.documents_dir)))
        return permits.as_variables(row)

    def _published_notice(self, session: Session, row: Notice) -> Notice:
        if self.publisher is not None:
            self.publisher.notice(session, row)
        return row

    def _published_permit(self, session: Session, row: Permit) -> Permit:
        if self.publisher is not None:
            self.publisher.permit(session, row)
        return row

    def revoke_permit(self, *, job_id: str, number: str, reason: str) -> dict[str, Any]:
        row = self._tx(lambda s: permits.revoke(s, job_id=job_id, number=number, reason=reason, now=self.now()))
        assert row.revocation_number is not None and row.revoked_at is not None
        return {**permits.as_variables(row), "revocation_number": row.revocation_number,
                "revoked_at": row.revoked_at.isoformat()}

    def share(self, *, job_id: str, action: str, permit: dict[str, Any], instance_id: str) -> dict[str, Any]:
        row = self._tx(lambda s: enforcement.share(s, job_id=job_id, action=action, permit=permit,
                                                   instance_id=instance_id or None, now=self.now()))
        return {"seq": row.seq, "action": row.action, "recipients": list(row.recipients)}

    # --- accountability ------------------------------------------------------------------------------------------

    def record_deemed(self, *, job_id: str, kind: str, instance_id: str, project_code: str, subject: str,
                      subject_name: str, department: str, matter: str | None, limit_wd: int) -> dict[str, Any]:
        def run(session: Session) -> dict[str, Any]:
            record, obligation = accountability.record_deemed(
                session, job_id=job_id, kind=kind, instance_id=instance_id or None, project_code=project_code,
                subject=subject, subject_name=subject_name, department=department, matter=matter,
                limit_wd=limit_wd, now=self.now(), calendar=self.ctx.calendars.get(session))
            return {"record_id": record.id, "occurred_at": record.occurred_at.isoformat(),
                    "obligation_id": obligation.id if obligation else None,
                    "formal_document_due": obligation.due_at.isoformat() if obligation else None}

        return self._tx(run)

    def escalate(self, *, job_id: str, instance_id: str, project_code: str, level: str, subject: str,
                 department: str, title: str, limit_wd: int) -> dict[str, Any]:
        row = self._tx(lambda s: accountability.raise_escalation(
            s, job_id=job_id, instance_id=instance_id or None, project_code=project_code, level=level,
            subject=subject, department=department, title=title, limit_wd=limit_wd, now=self.now()))
        return {"id": row.id, "level": row.level, "raised_at": row.raised_at.isoformat()}
