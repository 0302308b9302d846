"""The online application (一表申报): checked against forms/application.schema.json and the applicant profile
(entered once beforehand), then started as an instance of the process the applicant chose."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.bureau import applicants, uscc
from engine.bureau.errors import ApplicantNotFound
from engine.dto import InstanceOut
from engine.errors import FieldError, FormInvalid, InvalidInput
from engine.services import instances
from engine.services.context import EngineContext
from engine.services.forms import read_form, validate_form

APPLICATION_FORM = "application.schema.json"
PROCESSES = ("commercial_project", "government_investment_project")


def check_application(session: Session, ctx: EngineContext, data: Any) -> dict[str, Any]:
    """The variables to start with, or FormInvalid with Chinese field messages (nothing is stored)."""
    validate_form(read_form(ctx.forms_dir, APPLICATION_FORM, bpmn_file="application"), data)
    try:
        code = uscc.validate(data["credit_code"])
    except uscc.InvalidCreditCode as exc:
        raise FormInvalid([FieldError("credit_code", f"统一社会信用代码：{exc.message_zh}")]) from exc
    if applicants.find_profile(session, code) is None:
        raise ApplicantNotFound(f"申请人 {code} 尚未录入基本信息：请先提交申请人基本信息（只需一次）",
                                credit_code=code)
    return {**data, "credit_code": code}


def submit(session: Session, ctx: EngineContext, process_key: str, data: Any, *, actor: str,
           now: datetime) -> InstanceOut:
    if process_key not in PROCESSES:
        raise InvalidInput(f"applications are for {', '.join(PROCESSES)}, not {process_key!r}")
    variables = check_application(session, ctx, data)
    return instances.start(session, ctx, process_key, variables, actor=actor, now=now)
