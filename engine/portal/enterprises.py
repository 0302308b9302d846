"""Enterprise accounts: a sign-in account of role `applicant` that acts for one enterprise (its unified social
credit code). Registering submits the enterprise's profile once (engine/bureau/applicants.py); every application
of the enterprise reuses it.

One account per credit code. A profile the window entered before the enterprise registered online is claimed by
giving the contact phone on file (the portal has no 电子营业执照 check; see the README's limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import accounts
from engine.bureau import applicants, uscc
from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import ApplicantAccount, User
from engine.services.context import EngineContext


class EnterpriseRegistered(Conflict):
    """Enterprise already has an account"""


@dataclass(frozen=True)
class RegistrationOut:
    username: str
    credit_code: str
    profile_created: bool


def enterprise_of(session: Session, username: str) -> str | None:
    """The credit code an applicant account acts for, or None (not an enterprise account)."""
    return session.scalar(select(ApplicantAccount.credit_code).join(User, User.id == ApplicantAccount.user_id)
                          .where(User.username == username))


def account_username(session: Session, credit_code: str) -> str | None:
    return session.scalar(select(User.username).join(ApplicantAccount, User.id == ApplicantAccount.user_id)
                          .where(ApplicantAccount.credit_code == credit_code))


def _claim(session: Session, ctx: EngineContext, profile: dict[str, Any], *, actor: str, now: datetime) -> tuple[str, bool]:
    """Check that the credit code may get an account and store its profile; (credit code, profile created)."""
    try:
        code = uscc.validate(profile.get("credit_code"))
    except uscc.InvalidCreditCode as exc:
        raise FormInvalid([FieldError("credit_code", f"统一社会信用代码：{exc.message_zh}")]) from exc
    if account_username(session, code) is not None:
        raise EnterpriseRegistered(f"统一社会信用代码 {code} 已注册企业账户，请直接登录；忘记密码请到窗口办理",
                                   credit_code=code)
    existing = applicants.find_profile(session, code)
    if existing is not None and existing.contact_phone != str(profile.get("contact_phone", "")).strip():
        raise FormInvalid([FieldError("contact_phone", "联系电话：该单位已在窗口登记基本信息，请填写登记时留存的联系电话以核验身份")])
    out = applicants.submit_profile(session, ctx.forms_dir, {**profile, "credit_code": code}, actor=actor, now=now)
    return code, out.created


def register(session: Session, ctx: EngineContext, profile: dict[str, Any], *, username: str, password: str,
             now: datetime) -> RegistrationOut:
    """Create the enterprise's account and store its profile; bad input changes nothing."""
    code, created = _claim(session, ctx, profile, actor=username, now=now)
    name = applicants.get_profile(session, code).name
    user = accounts.create_user(session, ctx, username, display_name=name, roles=["applicant"], departments=[],
                                password=password, known_departments={}, actor=username, now=now)
    session.add(ApplicantAccount(user_id=user.id, credit_code=code, created_at=now))
    session.flush()
    return RegistrationOut(username, code, created)


def link(session: Session, ctx: EngineContext, username: str, profile: dict[str, Any], *,
         now: datetime) -> RegistrationOut:
    """Tie an existing applicant account (made by `approvals users create --role applicant` or `users demo`) to
    its enterprise, with the same rules as registering."""
    user = accounts.get_user(session, username)
    if "applicant" not in user.roles or enterprise_of(session, username) is not None:
        raise Conflict(f"{username} is not an applicant account without an enterprise")
    code, created = _claim(session, ctx, profile, actor=username, now=now)
    session.add(ApplicantAccount(user_id=user.id, credit_code=code, created_at=now))
    session.flush()
    return RegistrationOut(username, code, created)
