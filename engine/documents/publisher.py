"""The official PDFs of notices and permits, made by the worker that creates them.

engine/bureau/deps.py calls `notice(session, row)` / `permit(session, row)` in the same transaction that numbers
the notice or issues the permit, so a document exists exactly when its record does. Each gets a verification
code, is rendered (engine/documents/pdf.py), stored like any document (SHA-256, retention) under the project's
application and enterprise, and announced to the applicant through the notifications outbox. A job that runs
twice finds the document it made before. If the transaction rolls back, the bytes it wrote are removed.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.bureau import applicants
from engine.bureau.permits import ISSUER
from engine.calendar import SHANGHAI
from engine.config import Settings
from engine.documents import codes, pdf
from engine.documents.store import DocumentStore, new_id, sha256
from engine.documents.uploads import RETENTION_CLASS, retain_until
from engine.models import Application, Document, Notice, Permit
from engine.portal import notifications, progress
from engine.portal.variables import current as current_variables
from engine.services.context import EngineContext

SYSTEM = "worker"
KIND_NAMES = {"commercial": "企业投资项目", "government": "政府投资项目"}


class DocumentPublisher:
    def __init__(self, store: DocumentStore, settings: Settings, ctx: EngineContext, *,
                 channels: tuple[str, ...]) -> None:
        self.store, self.settings, self.ctx, self.channels = store, settings, ctx, channels

    @classmethod
    def from_settings(cls, settings: Settings, ctx: EngineContext) -> DocumentPublisher:
        channels = tuple(c for c, on in (("email", settings.notify.email != "off"),
                                          ("sms", settings.notify.sms != "off")) if on)
        return cls(DocumentStore(settings.path(settings.paths.var) / "docstore"), settings, ctx, channels=channels)

    # --- what deps.py calls ------------------------------------------------------------------------------------

    def notice(self, session: Session, row: Notice) -> Document:
        app = self._application(session, row.instance_id)
        details = dict(row.details or {})
        if row.instance_id and row.kind in ("correction", "not_accepted") and not details:
            # The processes pass no details to these notices: the window's decision holds the items (the
            # notice text's "见附件" is this list).
            decision = current_variables(session, self.ctx, row.instance_id).get("intake_decision")
            if isinstance(decision, dict):
                details = {k: decision[k] for k in ("corrections", "reasons") if decision.get(k)}
        items_title, items = None, []
        if details.get("corrections"):
            items_title, items = "附件：需补正的材料和事项", [str(c) for c in details["corrections"]]
        elif details.get("reasons"):
            items_title, items = "理由及依据：", [str(details["reasons"])]
        doc = pdf.OfficialDocument(
            title=row.title, number=row.number, issuer=ISSUER, issued_on=_day(row.created_at),
            verification_code="", verify_url="", recipient=self._name(session, row.credit_code),
            fields=self._project_fields(session, app, row.credit_code, row.project_code,
                                        str(details.get("project_name") or "")),
            paragraphs=[row.body], items_title=items_title, items=items,
            remark="本文书为电子文书，经核验页面核对验证码与文件摘要一致即为有效。")
        message = notifications.Message("notice", f"收到《{row.title}》",
                                        f"您单位收到《{row.title}》（{row.number}），请登录网上办事大厅查看和下载。")
        return self._publish(session, "notice", row.id, row.number, row.title, doc, app, row.credit_code,
                             row.instance_id, row.created_at, message)

    def permit(self, session: Session, row: Permit) -> Document:
        app = self._application(session, row.instance_id)
        fields = self._project_fields(session, app, row.credit_code, row.project_code, row.project_name,
                                      holder="建设单位")
        fields.append(("许可方式", "告知承诺制（发证后开展事后核查）" if row.by_commitment else "常规审批"))
        decisions = []
        if row.instance_id:
            variables = current_variables(session, self.ctx, row.instance_id)
            decisions = [f"{'、'.join(self._departments(d.departments))} {d.step}：{d.decision}"
                         f"{'（超时默认同意）' if d.deemed else ''}"
                         f"（{_day(d.at).isoformat() if d.at else '—'}）"
                         for d in progress.decisions(session, row.instance_id, variables) if d.review]
        doc = pdf.OfficialDocument(
            title=row.title, number=row.number, issuer=ISSUER, issued_on=_day(row.issued_at), verification_code="",
            verify_url="", fields=fields,
            paragraphs=["经审查，上述项目符合法定条件和标准，依据《中华人民共和国行政许可法》及相关法律法规，准予许可，特发此证。"],
            appendix_title="附：各部门审批意见", appendix=decisions,
            remark="本证为电子证照，与纸质证照具有同等效力；撤销、变更情况以核验页面为准。")
        message = notifications.Message("permit", f"《{row.title}》已核发",
                                        f"您单位的《{row.title}》（编号{row.number}）已核发，请登录网上办事大厅下载电子证照。")
        return self._publish(session, "permit", row.id, row.number, row.title, doc, app, row.credit_code,
                             row.instance_id, row.issued_at, message)

    # --- shared ------------------------------------------------------------------------------------------------

    def _publish(self, session: Session, kind: str, subject_id: str, number: str, title: str,
                 doc: pdf.OfficialDocument, app: Application | None, credit_code: str, instance_id: str | None,
                 at: datetime, message: notifications.Message) -> Document:
        existing = session.scalars(select(Document).where(Document.subject_id == subject_id)).first()
        if existing is not None:
            return existing
        code = codes.new_code()
        url = f"{self.settings.portal.public_url.rstrip('/')}/verify/{code}"
        data = pdf.render(dataclasses.replace(doc, verification_code=code, verify_url=url))
        doc_id = new_id()
        key = self.store.write(doc_id, data)
        event.listen(session, "after_rollback", lambda _s: self.store.delete(key), once=True)
        row = Document(id=doc_id, application_id=app.id if app else None, instance_id=instance_id,
                       credit_code=credit_code, purpose=kind, material_code=None,
                       file_name=_file_name(title, number), file_type="pdf", content_type="application/pdf",
                       size=len(data), sha256=sha256(data), storage_key=key, channel="system", uploaded_by=SYSTEM,
                       uploaded_at=at, retention_class=RETENTION_CLASS,
                       retain_until=retain_until(at, self.settings.portal.retention_years), subject_kind=kind,
                       subject_id=subject_id, verification_code=code)
        session.add(row)
        session.flush()
        notifications.enqueue(session, key=f"{kind}:{subject_id}", credit_code=credit_code,
                              application_id=app.id if app else None, message=message, channels=self.channels,
                              now=at)
        return row

    def _application(self, session: Session, instance_id: str | None) -> Application | None:
        if not instance_id:
            return None
        return session.scalars(select(Application).where(Application.instance_id == instance_id)).first()

    def _name(self, session: Session, credit_code: str) -> str:
        profile = applicants.find_profile(session, credit_code)
        return profile.name if profile else credit_code

    def _departments(self, codes_: list[str]) -> list[str]:
        from engine.auth.departments import load_departments

        names = load_departments(self.ctx.processes_dir)
        return [names.get(c, c) for c in codes_]

    def _project_fields(self, session: Session, app: Application | None, credit_code: str, project_code: str,
                        project_name: str, holder: str = "申请单位") -> list[tuple[str, str]]:
        fields = [(holder, self._name(session, credit_code)), ("统一社会信用代码", credit_code)]
        if app is not None:
            fields += [("项目名称", app.project_name), ("项目代码", project_code or "—"),
                       ("建设地点", f"呼和浩特市{app.district}{app.address}"),
                       ("建设规模", f"总建筑面积 {app.building_area_m2:,} 平方米，总投资 {app.investment_wan:,} 万元"),
                       ("项目类型", KIND_NAMES.get(app.kind, app.kind))]
        else:
            fields += [("项目名称", project_name or "—"), ("项目代码", project_code or "—")]
        return fields


def _day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _file_name(title: str, number: str) -> str:
    safe = "".join(ch for ch in f"{title}-{number}" if ch not in '/\\:*?"<>|')
    return f"{safe[:100]}.pdf"
