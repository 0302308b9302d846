"""HTTP Basic for /engine-rest, as Camunda clients send it (`auth_basic`, `BasicAuthInterceptor`, Camunda
Modeler's "HTTP Basic"): the username and password of one of our accounts, or an API token of that account as the
password (worker accounts have no password). The same lock-out as the sign-in page applies (engine/auth/accounts).

A worker polls every few hundred milliseconds and argon2 costs ~64 MiB and tens of milliseconds by design, so a
verified credential is remembered for `CACHE_SECONDS` — keyed by a digest of the pair, and honoured only while the
account is enabled, not locked, and its password hash and session epoch are unchanged (a password change, disable
or sign-out-everywhere ends it at once). Each verification is a recorded sign-in (`auth:login`), so a polling
worker leaves one every few minutes, not one per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from dataclasses import dataclass

from flask import current_app, request

from engine.api.session import now, state
from engine.auth import tokens
from engine.auth.accounts import authenticate, find_user, principal_for
from engine.auth.roles import Principal
from engine.errors import Unauthenticated
from engine.models import User

CACHE_SECONDS = 300.0
CACHE_SIZE = 256
EXTENSION = "engine.basic_auth_cache"


@dataclass(frozen=True)
class _Verified:
    user_id: int
    password_hash: str | None
    session_epoch: int
    until: float  # time.monotonic()


class CredentialCache:
    """App-owned, bounded: digest of (username, password) -> what was verified."""

    def __init__(self) -> None:
        self._items: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> _Verified | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None and item.until < time.monotonic():
                del self._items[key]
                return None
            return item

    def put(self, key: str, user: User) -> None:
        with self._lock:
            if len(self._items) >= CACHE_SIZE:
                self._items.pop(next(iter(self._items)))
            self._items[key] = _Verified(user.id, user.password_hash, user.session_epoch,
                                         time.monotonic() + CACHE_SECONDS)


def _cache() -> CredentialCache:
    return current_app.extensions.setdefault(EXTENSION, CredentialCache())  # type: ignore[no-any-return]


def _credentials(encoded: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated("malformed HTTP Basic credentials") from None
    username, colon, password = text.partition(":")
    if not colon or not username.strip() or not password:
        raise Unauthenticated("HTTP Basic needs 'username:password'")
    return username.strip().lower()[:64], password


def _still_valid(user: User | None, verified: _Verified) -> bool:
    at = now()
    return (user is not None and user.id == verified.user_id and user.disabled_at is None
            and (user.locked_until is None or user.locked_until <= at)
            and user.password_hash == verified.password_hash and user.session_epoch == verified.session_epoch)


def principal_from_basic(encoded: str) -> Principal:
    username, password = _credentials(encoded)
    key = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
    verified = _cache().get(key)
    with state().sessions() as session:
        user = find_user(session, username)
        if verified is not None and _still_valid(user, verified):
            assert user is not None
            return principal_for(user, via="basic")
        if password.startswith(tokens.PREFIX):  # an API token as the password
            owner = tokens.authenticate(session, password, now=now())
            if owner is None or owner.username != username:
                raise Unauthenticated("the token is unknown, expired or revoked, or belongs to another user")
            _cache().put(key, owner)
            return principal_for(owner, via="basic")
    with state().sessions.begin() as session:
        outcome = authenticate(session, state().ctx, username, password, now=now(), remote_addr=request.remote_addr)
        if outcome.user is not None:
            _cache().put(key, outcome.user)
            return principal_for(outcome.user, via="basic")
    raise Unauthenticated(f"HTTP Basic sign-in refused ({outcome.reason})")
