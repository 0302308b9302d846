"""Who may see an application and its documents (DESIGN.md §3.7: applicants only their own projects).

- An enterprise account sees the applications, documents, notices and permits of its own enterprise (credit
  code), whichever channel they came in by — never another enterprise's: that is 403, not a 404 that hides it.
- Bureau staff see a submitted application when engine/auth/policy.py lets them see its process instance;
  drafts typed in at the window are visible to the window's clerks; auditors and admins see everything.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import policy
from engine.auth.roles import Principal, Role
from engine.errors import Forbidden, NotFound
from engine.models import Application, Document, ProcessInstance
from engine.portal.enterprises import enterprise_of


class ApplicationNotFound(NotFound):
    """Application not found"""


class DocumentNotFound(NotFound):
    """Document not found"""


def is_window_clerk(p: Principal) -> bool:
    return p.unrestricted or (p.has(Role.CLERK) and "window" in p.departments)


def owns(session: Session, p: Principal, credit_code: str) -> bool:
    return p.has(Role.APPLICANT) and enterprise_of(session, p.username) == credit_code


def can_see(session: Session, p: Principal, app: Application) -> bool:
    if policy.sees_everything(p) or owns(session, p, app.credit_code):
        return True
    if app.instance_id is None:
        return app.channel == "window" and is_window_clerk(p)
    instance = session.get(ProcessInstance, app.instance_id)
    return instance is not None and p.has(Role.CLERK, Role.LEADER) and policy.can_see_instance(session, p, instance)


def require_application(session: Session, p: Principal, application_id: str, *, own: bool = False) -> Application:
    """The application if `p` may see it (`own`: only its enterprise may act on it), else 404 / 403."""
    app = session.get(Application, application_id)
    if app is None:
        raise ApplicationNotFound(f"no application {application_id}")
    allowed = owns(session, p, app.credit_code) if own else can_see(session, p, app)
    if not allowed:
        raise Forbidden(f"{p.username} may not {'act on' if own else 'see'} application {application_id}")
    return app


def require_document(session: Session, p: Principal, document_id: str) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise DocumentNotFound(f"no document {document_id}")
    if owns(session, p, doc.credit_code) or policy.sees_everything(p):
        return doc
    app = session.get(Application, doc.application_id) if doc.application_id else None
    if app is not None and not p.has(Role.APPLICANT) and can_see(session, p, app):
        return doc
    if app is None and doc.instance_id and p.has(Role.CLERK, Role.LEADER):
        instance = session.get(ProcessInstance, doc.instance_id)
        if instance is not None and policy.can_see_instance(session, p, instance):
            return doc
    raise Forbidden(f"{p.username} may not read document {document_id}")


def enterprise_instance_ids(session: Session, username: str) -> set[str]:
    """The process instances of the enterprise an applicant account acts for (for engine/auth/policy.py)."""
    code = enterprise_of(session, username)
    if code is None:
        return set()
    return {i for i in session.scalars(select(Application.instance_id).where(
        Application.credit_code == code, Application.instance_id.is_not(None))) if i}
