"""Bearer tokens for the API: issued with an expiry, stored as SHA-256 only, revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth.accounts import get_user, record_system
from engine.errors import InvalidInput, TokenNotFound
from engine.models import ApiToken, EventKind, User
from engine.services.context import EngineContext

PREFIX = "apr_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    id: str
    username: str
    secret: str
    expires_at: datetime


def issue(session: Session, ctx: EngineContext, username: str, *, name: str, days: int | None, actor: str,
          now: datetime) -> IssuedToken:
    days = ctx.settings.security.token_days if days is None else days
    if not 1 <= days <= 366:
        raise InvalidInput("a token lives between 1 and 366 days")
    user = get_user(session, username)
    if user.disabled_at is not None:
        raise InvalidInput(f"user {username!r} is disabled")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=str(uuid.uuid4()), user_id=user.id, name=name, token_hash=digest(secret), created_at=now,
                     created_by=actor, expires_at=now + timedelta(days=days))
    session.add(token)
    session.flush()
    record_system(session, ctx, EventKind.TOKEN_ISSUED, actor=actor, now=now,
                  payload={"username": username, "token_id": token.id, "name": name,
                           "expires_at": token.expires_at})
    return IssuedToken(token.id, username, secret, token.expires_at)


def authenticate(session: Session, secret: str, *, now: datetime) -> User | None:
    """The token's active user, or None when the token is unknown, revoked or expired or the user disabled."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None or now >= token.expires_at:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return user


def revoke(session: Session, ctx: EngineContext, token_id: str, *, actor: str, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenNotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        user = session.get(User, token.user_id)
        record_system(session, ctx, EventKind.TOKEN_REVOKED, actor=actor, now=now,
                      payload={"username": user.username if user else None, "token_id": token_id})
    return token


def list_tokens(session: Session, username: str | None = None) -> Sequence[tuple[ApiToken, str]]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.created_at)
    if username:
        query = query.where(User.username == username)
    return [(token, name) for token, name in session.execute(query).all()]
