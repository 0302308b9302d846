"""Account use cases: create, change password, disable, enable, unlock, sign in (with lock-out).

Services in the engine's sense: they take a Session, never commit, and write every sign-in and every
account change to the `system` history chain (等保 2.0 login and admin-action log).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import passwords
from engine.auth.roles import DEPARTMENT_ROLES, Principal, Role, parse_roles
from engine.errors import InvalidInput, UserExists, UserNotFound, WeakPassword
from engine.models import EventKind, LoginAttempt, User, UserDepartment
from engine.services import history
from engine.services.context import EngineContext

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def record_system(session: Session, ctx: EngineContext, kind: str, *, actor: str, now: datetime,
                  payload: dict[str, Any]) -> None:
    history.record(session, hmac_key=ctx.hmac_key, instance_id=None, kind=kind, actor=actor, at=now,
                   payload=payload)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(f"no user {username!r}")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def principal_for(user: User, *, via: str) -> Principal:
    return Principal(user.username, user.display_name, parse_roles(list(user.roles)),
                     frozenset(user.departments), via)


def check_password(ctx: EngineContext, password: str, username: str) -> None:
    problems = passwords.policy_problems(password, username=username,
                                         min_length=ctx.settings.security.password_min_length)
    if problems:
        raise WeakPassword(problems)


def create_user(session: Session, ctx: EngineContext, username: str, *, display_name: str | None,
                roles: Iterable[str], departments: Iterable[str], password: str | None, known_departments:
                dict[str, str], actor: str, now: datetime) -> User:
    if not _USERNAME.match(username):
        raise InvalidInput(f"username {username!r} must be 2–64 characters: lower-case letters, digits, . _ -")
    try:
        role_set = parse_roles(list(roles))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if not role_set:
        raise InvalidInput("give the user at least one role")
    depts = sorted(set(departments))
    unknown = [d for d in depts if d not in known_departments]
    if unknown:
        raise InvalidInput(f"unknown department(s) {', '.join(unknown)}; known: {', '.join(known_departments)}")
    if Role.CLERK in role_set and not depts:
        raise InvalidInput("a clerk belongs to at least one department (--department CODE)")
    if depts and not role_set & DEPARTMENT_ROLES:
        raise InvalidInput("only clerks and leaders belong to departments")
    if password is None and role_set != {Role.WORKER}:
        raise InvalidInput("people sign in with a password; only worker accounts may have none")
    if password is not None:
        check_password(ctx, password, username)
    if find_user(session, username) is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(username=username, display_name=display_name or username,
                password_hash=passwords.hash_password(password) if password is not None else None,
                roles=sorted(r.value for r in role_set), failed_logins=0, session_epoch=0,
                created_at=now, created_by=actor, password_changed_at=now if password else None)
    user.memberships = [UserDepartment(department=d) for d in depts]
    session.add(user)
    session.flush()
    record_system(session, ctx, EventKind.USER_CREATED, actor=actor, now=now,
                  payload={"username": username, "roles": user.roles, "departments": depts})
    return user


def set_password(session: Session, ctx: EngineContext, username: str, password: str, *, actor: str,
                 now: datetime) -> User:
    user = get_user(session, username)
    check_password(ctx, password, username)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.session_epoch += 1
    record_system(session, ctx, EventKind.USER_PASSWORD_CHANGED, actor=actor, now=now,
                  payload={"username": username})
    return user


def disable_user(session: Session, ctx: EngineContext, username: str, *, actor: str, now: datetime,
                 reason: str) -> User:
    user = get_user(session, username)
    if user.disabled_at is None:
        user.disabled_at = now
        user.session_epoch += 1  # signs the user out everywhere
        record_system(session, ctx, EventKind.USER_DISABLED, actor=actor, now=now,
                      payload={"username": username, "reason": reason})
    return user


def enable_user(session: Session, ctx: EngineContext, username: str, *, actor: str, now: datetime) -> User:
    user = get_user(session, username)
    if user.disabled_at is not None:
        user.disabled_at = None
        record_system(session, ctx, EventKind.USER_ENABLED, actor=actor, now=now, payload={"username": username})
    return user


def unlock_user(session: Session, ctx: EngineContext, username: str, *, actor: str, now: datetime) -> User:
    user = get_user(session, username)
    user.failed_logins, user.locked_until = 0, None
    record_system(session, ctx, EventKind.USER_UNLOCKED, actor=actor, now=now, payload={"username": username})
    return user


@dataclass(frozen=True)
class LoginOutcome:
    """`user` is set only on success. `reason`: ok, bad_credentials, locked, disabled."""

    reason: str
    user: User | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def authenticate(session: Session, ctx: EngineContext, username: str, password: str, *, now: datetime,
                 remote_addr: str | None) -> LoginOutcome:
    """Check a password, counting failures; the caller commits the outcome whether or not it succeeded.

    After `max_failed_logins` consecutive failures the account is locked for `lockout_minutes`; while
    locked even the right password is refused. Unknown users and wrong passwords look the same to the caller
    of the web page (same message, same hashing cost).
    """
    security = ctx.settings.security
    username = username.strip().lower()[:64]
    user = find_user(session, username)
    if user is None:
        passwords.verify_password(None, password)
        return _failed(session, ctx, username, "unknown_user", now, remote_addr, LoginOutcome("bad_credentials"))
    if user.locked_until is not None and now < user.locked_until:
        return _failed(session, ctx, username, "locked", now, remote_addr,
                       LoginOutcome("locked", locked_until=user.locked_until))
    if user.locked_until is not None:  # the lock has run out: start counting afresh
        user.failed_logins, user.locked_until = 0, None
    if not passwords.verify_password(user.password_hash, password):
        user.failed_logins += 1
        outcome = LoginOutcome("bad_credentials")
        if user.failed_logins >= security.max_failed_logins:
            user.locked_until = now + timedelta(minutes=security.lockout_minutes)
            record_system(session, ctx, EventKind.AUTH_LOCKED, actor=username, now=now,
                          payload={"username": username, "failures": user.failed_logins,
                                   "locked_until": user.locked_until})
            outcome = LoginOutcome("locked", locked_until=user.locked_until)
        return _failed(session, ctx, username, "bad_password", now, remote_addr, outcome)
    if user.disabled_at is not None:
        return _failed(session, ctx, username, "disabled", now, remote_addr, LoginOutcome("disabled"))
    user.failed_logins, user.last_login_at = 0, now
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.add(LoginAttempt(username=username, at=now, success=True, outcome="ok", remote_addr=remote_addr))
    record_system(session, ctx, EventKind.AUTH_LOGIN, actor=username, now=now,
                  payload={"username": username, "remote_addr": remote_addr})
    return LoginOutcome("ok", user=user)


def _failed(session: Session, ctx: EngineContext, username: str, why: str, now: datetime,
            remote_addr: str | None, outcome: LoginOutcome) -> LoginOutcome:
    session.add(LoginAttempt(username=username, at=now, success=False, outcome=why, remote_addr=remote_addr))
    record_system(session, ctx, EventKind.AUTH_LOGIN_FAILED, actor=username or "-", now=now,
                  payload={"username": username, "outcome": why, "remote_addr": remote_addr})
    return outcome


def record_logout(session: Session, ctx: EngineContext, username: str, *, now: datetime, why: str) -> None:
    record_system(session, ctx, EventKind.AUTH_LOGOUT, actor=username, now=now,
                  payload={"username": username, "why": why})


def colleagues(session: Session, departments: Iterable[str], *, exclude: str | None = None) -> list[User]:
    """Active clerks of any of these departments (transfer targets), by username."""
    wanted = set(departments)
    rows = session.scalars(
        select(User).join(UserDepartment).where(UserDepartment.department.in_(wanted), User.disabled_at.is_(None))
        .order_by(User.username)
    ).unique().all()
    return [u for u in rows if Role.CLERK.value in u.roles and u.username != exclude]
