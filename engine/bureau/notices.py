"""Numbered written notices to the applicant (行政许可法 art 32: every completeness decision is written and
numbered; so are refusals, suspensions, returns, withdrawals, revocations), kept in an outbox.

A notice is created in one transaction (numbered, status `pending`) and then handed to a pluggable
`NoticeSender` (e-mail, SMS, the applicant's portal, a file drop...); success marks it `sent`, failure leaves it
for `approvals notices dispatch` to retry. A job that runs twice finds its notice by job id and never numbers a
second one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bureau.numbering import next_number
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput
from engine.models import Notice
from engine.services import core_rows

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Kind:
    title: str
    prefix: str
    text: str  # the body; {project_name}, {project_code} and details keys are filled in


KINDS: dict[str, Kind] = {
    "acceptance": Kind("受理通知书", "受", "你单位申报的{project_name}（项目代码{project_code}）工程建设项目审批申请，材料齐全、"
                       "符合法定形式，决定予以受理。{rongque_text}"),
    "correction": Kind("一次性告知补正通知书", "补", "你单位申报的{project_name}（项目代码{project_code}）申请材料不齐全或不符合"
                       "法定形式，请一次性补正以下内容：{corrections_text}。补正期间不计入审批时限。"),
    "not_accepted": Kind("不予受理决定书", "不受", "你单位申报的{project_name}（项目代码{project_code}）申请不属于受理范围或"
                         "不符合受理条件，决定不予受理。理由：{reasons}。你单位如不服，可依法申请行政复议或提起行政诉讼。"),
    "rongque_refused": Kind("不予容缺受理告知书", "容否", "你单位不符合容缺受理条件（信用记录或事项不允许容缺），"
                            "{project_name}（项目代码{project_code}）申请按一次性告知补正办理。"),
    "rongque_suspended": Kind("审批中止通知书", "止", "你单位未按承诺期限补交容缺材料，{project_name}（项目代码{project_code}）"
                              "审批自即日起中止，中止期间不计入审批时限；中止满15个工作日仍未补齐的，予以退件。"),
    "resumed": Kind("恢复审批通知书", "复", "你单位已补齐容缺材料，{project_name}（项目代码{project_code}）审批自即日起恢复。"),
    "returned": Kind("退件通知书", "退", "你单位未在中止后15个工作日内补齐容缺材料，{project_name}（项目代码{project_code}）"
                     "申请予以退件，已提交材料退回。"),
    "withdrawal": Kind("撤回申请确认书", "撤", "根据你单位的书面申请，{project_name}（项目代码{project_code}）审批申请已撤回，"
                       "审批程序终止。"),
    "refusal": Kind("不予行政许可决定书", "不许", "你单位申请的{project_name}（项目代码{project_code}）不符合法定条件，"
                    "决定不予行政许可。你单位如不服，可依法申请行政复议或提起行政诉讼。"),
    "revocation": Kind("撤销行政许可决定书", "销", "经事后核查，你单位就{project_name}（项目代码{project_code}）作出的告知承诺"
                       "与实际情况不符，依据行政许可法第六十九条，撤销{permit_no}号许可，并记入信用记录。"),
}


class NoticeSender(Protocol):
    """Delivers one notice (a JSON-able message). Raise to leave the notice pending for a retry."""

    def send(self, message: dict[str, Any]) -> None: ...


class MemorySender:
    """Keeps what it was given (tests, simulation)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


class FileSender:
    """Drops each notice as `<directory>/<id>.json` for a delivery agent to pick up (the embedded default)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{message['id']}.json"
        partial = target.with_suffix(".json.part")
        partial.write_text(json.dumps(message, ensure_ascii=False, indent=2), encoding="utf-8")
        partial.replace(target)


def _text(kind: Kind, details: dict[str, Any]) -> str:
    values = {"project_name": "", "project_code": "", "reasons": "", "permit_no": "", **details}
    corrections = details.get("corrections") or []
    values["corrections_text"] = "；".join(f"（{i}）{c}" for i, c in enumerate(corrections, 1)) or "见附件"
    values["rongque_text"] = ("其中部分次要材料按容缺受理办理，请按承诺期限补交；材料补齐前不核发许可证。"
                              if details.get("rongque") else "")
    return kind.text.format_map(values)


def message(notice: Notice) -> dict[str, Any]:
    return {"id": notice.id, "number": notice.number, "kind": notice.kind, "title": notice.title,
            "credit_code": notice.credit_code, "project_code": notice.project_code, "body": notice.body,
            "created_at": notice.created_at.isoformat(), "instance_id": notice.instance_id}


def create(session: Session, *, job_id: str, kind: str, credit_code: str, project_code: str, project_name: str,
           instance_id: str | None, details: dict[str, Any], now: datetime) -> Notice:
    """Number and store a notice (status pending); the same job id returns the notice it created before."""
    existing = core_rows.first_by(session, Notice, "job_id", job_id)
    if existing is not None:
        return existing
    spec = KINDS.get(kind)
    if spec is None:
        raise InvalidInput(f"unknown notice kind {kind!r}; known: {', '.join(KINDS)}")
    year = now.astimezone(SHANGHAI).year
    number = f"呼审{spec.prefix}〔{year}〕{next_number(session, f'notice:{kind}:{year}'):06d}号"
    body = _text(spec, {"project_name": project_name, "project_code": project_code, **details})
    row = Notice(id=str(uuid.uuid4()), number=number, kind=kind, title=spec.title, credit_code=credit_code,
                 instance_id=instance_id, project_code=project_code, body=body, details=details, status=PENDING,
                 attempts=0, created_at=now, job_id=job_id)
    core_rows.insert_new(session, row)
    return row


def mark(session: Session, notice_id: str, *, error: str | None, now: datetime) -> Notice:
    row = core_rows.get(session, Notice, notice_id)
    if row is None:
        raise InvalidInput(f"no notice {notice_id}")
    changes: dict[str, Any] = {"attempts": row.attempts + 1}
    if error is None:
        changes.update(status=SENT, sent_at=now, last_error=None)
    else:
        changes.update(status=FAILED, last_error=error[:2000])
    core_rows.update_object(session, row, changes)
    return row


def undelivered(session: Session, limit: int = 100) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.status.in_((PENDING, FAILED)))
                                .order_by(Notice.created_at).limit(limit)))
