"""Accounts as services: password policy, lock-out and its expiry, tokens (expiry, revocation), masking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine.auth import accounts, tokens
from engine.auth.masking import MaskingFilter, mask_text, mask_value
from engine.auth.passwords import policy_problems
from engine.clock import SimulatedClock
from engine.errors import InvalidInput, UserExists, WeakPassword
from engine.models import InstanceEvent, LoginAttempt
from engine.services import history
from engine.services.commands import run_command
from tests.conftest import engine_state

DEPARTMENTS = {"nrp": "自然资源和规划局", "hc": "住房和城乡建设局"}
GOOD = "Qingcheng-2026!"


def _create(app: Flask, username: str = "zhang.min", **kwargs: object) -> None:
    state = engine_state(app)
    options = {"display_name": "张敏", "roles": ["clerk"], "departments": ["nrp"], "password": GOOD,
               "known_departments": DEPARTMENTS, "actor": "cli:root", "now": state.clock.now(), **kwargs}
    run_command(state.sessions, lambda s: accounts.create_user(s, state.ctx, username, **options))  # type: ignore


def _login(app: Flask, password: str, username: str = "zhang.min") -> accounts.LoginOutcome:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: accounts.authenticate(
        s, state.ctx, username, password, now=state.clock.now(), remote_addr="127.0.0.1"))


@pytest.mark.parametrize("password, problem", [
    ("Short-1", "长度不能少于 10"),
    ("alllowercaseletters", "至少三类"),
    ("Zhang.min-2026", "不能包含用户名"),
])
def test_password_policy_names_each_problem_in_chinese(password: str, problem: str) -> None:
    assert any(problem in p for p in policy_problems(password, username="zhang.min", min_length=10))
    assert policy_problems(GOOD, username="zhang.min", min_length=10) == []


def test_bad_accounts_are_refused_and_nothing_is_created(app: Flask) -> None:
    with pytest.raises(WeakPassword):
        _create(app, password="weak")
    with pytest.raises(InvalidInput, match="unknown department"):
        _create(app, departments=["moon"])
    with pytest.raises(InvalidInput, match="at least one department"):
        _create(app, departments=[])
    with pytest.raises(InvalidInput, match="unknown role"):
        _create(app, roles=["king"])
    with pytest.raises(InvalidInput, match="only worker accounts"):
        _create(app, password=None)
    with engine_state(app).sessions() as session:
        assert accounts.list_users(session) == []
        assert session.scalars(select(InstanceEvent)).all() == []
    _create(app)
    with pytest.raises(UserExists):
        _create(app)


def test_five_failures_lock_until_the_lockout_ends(app: Flask, clock: SimulatedClock) -> None:
    _create(app)
    outcomes = [_login(app, "Wrong-pass-1").reason for _ in range(5)]
    assert outcomes == ["bad_credentials"] * 4 + ["locked"]
    assert _login(app, GOOD).reason == "locked"
    clock.advance(timedelta(minutes=29))
    assert _login(app, GOOD).reason == "locked"
    clock.advance(timedelta(minutes=2))
    assert _login(app, GOOD).ok
    state = engine_state(app)
    with state.sessions() as session:
        attempts = session.scalars(select(LoginAttempt.outcome).order_by(LoginAttempt.id)).all()
        assert attempts == ["bad_password"] * 5 + ["locked", "locked", "ok"]
        assert history.verify_all(session, state.ctx.hmac_key) == []
        kinds = [e.kind for e in history.list_events(session, "system")]
    assert kinds.count("auth:login_failed") == 7 and kinds.count("auth:locked") == 1 and kinds[-1] == "auth:login"


def test_unknown_users_fail_like_wrong_passwords_and_are_logged(app: Flask) -> None:
    assert _login(app, GOOD, username="nobody").reason == "bad_credentials"
    with engine_state(app).sessions() as session:
        assert session.scalars(select(LoginAttempt.outcome)).all() == ["unknown_user"]


def test_disabled_users_cannot_sign_in_and_unlock_resets_failures(app: Flask) -> None:
    _create(app)
    state = engine_state(app)
    for _ in range(5):
        _login(app, "Wrong-pass-1")
    run_command(state.sessions, lambda s: accounts.unlock_user(s, state.ctx, "zhang.min", actor="admin",
                                                               now=state.clock.now()))
    assert _login(app, GOOD).ok
    run_command(state.sessions, lambda s: accounts.disable_user(s, state.ctx, "zhang.min", actor="admin",
                                                                now=state.clock.now(), reason="离职"))
    assert _login(app, GOOD).reason == "disabled"


def test_tokens_expire_and_can_be_revoked(app: Flask, clock: SimulatedClock) -> None:
    _create(app)
    state = engine_state(app)
    issued = run_command(state.sessions, lambda s: tokens.issue(s, state.ctx, "zhang.min", name="script", days=2,
                                                                actor="admin", now=clock.now()))
    with state.sessions() as session:
        assert tokens.authenticate(session, issued.secret, now=clock.now()) is not None
        assert tokens.authenticate(session, issued.secret + "x", now=clock.now()) is None
        assert tokens.authenticate(session, issued.secret, now=clock.now() + timedelta(days=2)) is None
        stored = session.scalars(select(InstanceEvent.payload).where(InstanceEvent.kind == "token:issued")).one()
    assert issued.secret not in str(stored)  # only the hash is kept, never the secret
    run_command(state.sessions, lambda s: tokens.revoke(s, state.ctx, issued.id, actor="admin", now=clock.now()))
    with state.sessions() as session:
        assert tokens.authenticate(session, issued.secret, now=clock.now()) is None
    with pytest.raises(InvalidInput):
        run_command(state.sessions, lambda s: tokens.issue(s, state.ctx, "zhang.min", name="x", days=0,
                                                           actor="admin", now=clock.now()))


def test_id_card_and_phone_numbers_are_masked_everywhere() -> None:
    text = "联系人 13912345678，身份证 15010219800101123X，代码 91150100MA0N123456"
    assert mask_text(text) == "联系人 139****5678，身份证 150102********123X，代码 91150100MA0N123456"
    assert mask_value({"a": ["13912345678"], "n": 13912345678, "k": True}) == {
        "a": ["139****5678"], "n": "139****5678", "k": True}
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "applicant %s called", ("13912345678",), None)
    MaskingFilter().filter(record)
    assert record.getMessage() == "applicant 139****5678 called"
