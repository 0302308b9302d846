"""Accounts: users with roles and department memberships, API tokens and the login-attempt log.

The rules (password policy, lock-out, who may do what) live in engine/auth/; these are the tables only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    # None for service accounts (workers): they authenticate with tokens only.
    password_hash: Mapped[str | None]
    roles: Mapped[list[Any]]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped on disable and password change: every session cookie issued before is refused.
    session_epoch: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[UserDepartment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserDepartment.department")

    @property
    def departments(self) -> list[str]:
        return [m.department for m in self.memberships]


class UserDepartment(Base):
    """A clerk's or leader's membership of a department (codes from processes/departments.toml)."""

    __tablename__ = "user_departments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(Base):
    """A bearer token for the API. Only its SHA-256 is stored; the secret is shown once at issue."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str]
    token_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every sign-in attempt, successful or not (等保 2.0 asks for a login log)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str]
    at: Mapped[datetime]
    success: Mapped[bool]
    outcome: Mapped[str]
    remote_addr: Mapped[str | None]
