"""Commitments the applicant signs by explicit confirmation (DOMAIN.md §4):

- 容缺受理承诺书: only secondary materials of matters that allow 容缺 may be missing; the applicant names them and
  the working days in which they will be supplied (1–10, what the window's decision form accepts).
- 告知承诺书 (construction permit): the applicant states that the statutory permit conditions are met.

The exact text shown is stored with its SHA-256, the typed signer name and who signed when; once the application
has a process instance the signature is also written to its history (`commitment:signed`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bureau.applicants import ProfileOut
from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import Application, Commitment, EventKind
from engine.portal.variants import Requirements
from engine.services import execution, history
from engine.services.context import EngineContext

KINDS = {"rongque": "容缺受理承诺书", "notify_commit": "告知承诺书"}
# 建筑法 art 8: what an applicant for a construction permit must have (the conditions 告知承诺 attests to).
PERMIT_CONDITIONS = (
    "已经依法办理该建筑工程用地批准手续",
    "依法应当办理建设工程规划许可证的，已经取得建设工程规划许可证",
    "需要拆迁的，其拆迁进度符合施工要求",
    "已经确定建筑施工企业",
    "有满足施工需要的资金安排、施工图纸及技术资料",
    "有保证工程质量和安全的具体措施",
)
MAX_DUE_WD = 10


def rongque_text(profile: ProfileOut, app: Application, materials: list[tuple[str, str]], due_wd: int) -> str:
    items = "；".join(f"{name}（{code}）" for code, name in materials)
    return (f"本单位{profile.name}（统一社会信用代码{profile.credit_code}）申报“{app.project_name}”，申请按容缺受理方式办理。"
            f"本单位承诺：自受理之日起{due_wd}个工作日内补交以下材料：{items}。所补交材料真实、合法、有效，"
            "与容缺受理时的说明一致。逾期未补交的，同意审批中止，中止期间不计入审批时限；中止满15个工作日仍未补齐的，"
            "同意退件，并承担由此产生的后果。材料补齐前不核发许可证。")


def notify_commit_text(profile: ProfileOut, app: Application, matters: list[str]) -> str:
    conditions = "；".join(f"（{i}）{c}" for i, c in enumerate(PERMIT_CONDITIONS, 1))
    return (f"本单位{profile.name}（统一社会信用代码{profile.credit_code}）就“{app.project_name}”申请以告知承诺方式办理"
            f"{'、'.join(matters)}。本单位已知悉审批部门一次性告知的全部许可条件：{conditions}。本单位承诺：符合上述条件；"
            "所提交材料真实、有效；愿意接受审批部门的事后核查；承诺不实的，愿意承担被依法撤销许可、记入信用记录、"
            "取消告知承诺资格等法律责任（《中华人民共和国行政许可法》第六十九条）。")


def rongque_candidates(req: Requirements, uploaded: set[str]) -> list[tuple[str, str]]:
    """Secondary materials of 容缺 matters not uploaded yet: what a 容缺 commitment may cover."""
    return [(m.code, m.name) for m in req.materials if m.rongque and m.code not in uploaded]


def signed(session: Session, application_id: str) -> list[Commitment]:
    return list(session.scalars(select(Commitment).where(Commitment.application_id == application_id)
                                .order_by(Commitment.signed_at)))


def record_in_history(session: Session, ctx: EngineContext, row: Commitment, instance_id: str, *,
                      now: datetime) -> None:
    """The signature on the instance's chain (the caller holds the instance lock); a draft's signatures are
    written when it is submitted, each with its original `signed_at`."""
    event = history.record(session, hmac_key=ctx.hmac_key, instance_id=instance_id, kind=EventKind.COMMITMENT_SIGNED,
                           actor=row.signed_by, at=now, payload=history_payload(row))
    row.history_seq = event.seq


def history_payload(row: Commitment) -> dict[str, object]:
    return {"commitment_id": row.id, "kind": row.kind, "title": KINDS[row.kind], "materials": list(row.materials),
            "due_wd": row.due_wd, "text_sha256": row.text_sha256, "signer_name": row.signer_name,
            "signed_at": history.format_at(row.signed_at), "confirmed": True}


def sign(session: Session, ctx: EngineContext, app: Application, profile: ProfileOut, req: Requirements, *,
         kind: str, uploaded: set[str], materials: list[str], due_wd: int | None, signer_name: str,
         confirmed: bool, text_shown_sha256: str, actor: str, now: datetime) -> Commitment:
    """Sign one commitment. The confirmation box must be ticked and the text the applicant saw must be the text
    the server would sign (its SHA-256), so nobody signs words they were not shown."""
    if kind not in KINDS:
        raise FormInvalid([FieldError("kind", f"承诺类型：应为 {'、'.join(KINDS.values())} 之一")])
    if any(c.kind == kind for c in signed(session, app.id)):
        raise Conflict(f"本申请已签署{KINDS[kind]}，无需重复签署")
    errors = []
    signer = signer_name.strip()
    if not 2 <= len(signer) <= 50:
        errors.append(FieldError("signer_name", "签署人：请填写法定代表人或授权签署人姓名（2–50 个字符）"))
    if not confirmed:
        errors.append(FieldError("confirmed", "确认：请勾选“本单位已阅读并同意上述承诺”后再签署"))
    if kind == "rongque":
        allowed = dict(rongque_candidates(req, uploaded))
        chosen = [code for code in dict.fromkeys(materials)]
        if not chosen:
            errors.append(FieldError("materials", "容缺材料：请至少选择一项暂缺的次要材料"))
        bad = [code for code in chosen if code not in allowed]
        if bad:
            errors.append(FieldError("materials", f"容缺材料：{'、'.join(bad)} 不是可容缺的次要材料（或已上传）"))
        if due_wd is None or not 1 <= due_wd <= MAX_DUE_WD:
            errors.append(FieldError("due_wd", f"补交期限：应为 1 至 {MAX_DUE_WD} 个工作日"))
        if errors:
            raise FormInvalid(errors)
        assert due_wd is not None
        text = rongque_text(profile, app, [(c, allowed[c]) for c in chosen], due_wd)
    else:
        matters = [m.name for m in req.commitment_matters]
        if not matters:
            errors.append(FieldError("kind", "本项目的事项均不适用告知承诺"))
        if errors:
            raise FormInvalid(errors)
        chosen, due_wd = [], None
        text = notify_commit_text(profile, app, matters)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != text_shown_sha256:
        raise Conflict("承诺书内容已变化（例如材料已上传），请重新阅读后签署")
    row = Commitment(id=str(uuid.uuid4()), application_id=app.id, kind=kind, materials=chosen, due_wd=due_wd,
                     text=text, text_sha256=digest, signer_name=signer, signed_by=actor, signed_at=now,
                     history_seq=None)
    session.add(row)
    session.flush()
    if app.instance_id:
        execution.lock_instance(session, app.instance_id)
        record_in_history(session, ctx, row, app.instance_id, now=now)
    return row


def preview(app: Application, profile: ProfileOut, req: Requirements, kind: str, materials: list[str],
            due_wd: int) -> str:
    """The text the sign form shows for these choices (signing re-derives and compares it)."""
    if kind == "rongque":
        names = {m.code: m.name for m in req.materials}
        return rongque_text(profile, app, [(c, names.get(c, c)) for c in materials], due_wd)
    return notify_commit_text(profile, app, [m.name for m in req.commitment_matters])
