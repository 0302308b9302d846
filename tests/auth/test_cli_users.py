"""`approvals users …`: create (policy-checked), list, tokens shown once, revoke, disable, demo accounts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.cli import main
from engine.config import Settings
from engine.migrate import upgrade


def _run(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {"APPROVALS_DATABASE__URL": settings.database.url, "APPROVALS_PATHS__PROCESSES": settings.paths.processes,
           "APPROVALS_PATHS__VAR": settings.paths.var, "APPROVALS_AUDIT__HMAC_KEY": settings.audit.hmac_key}
    result = CliRunner().invoke(main, list(args), input=stdin, env=env)
    return result.exit_code, result.output


def test_users_commands(settings: Settings, tmp_path: Path) -> None:
    upgrade(settings, "heads")
    code, out = _run(settings, "users", "create", "zhang.min", "--role", "clerk", "--department", "nrp",
                     "--password-stdin", stdin="weak\n")
    assert code == 1 and "密码长度不能少于" in out
    code, out = _run(settings, "users", "create", "zhang.min", "--role", "clerk", "--department", "nrp",
                     "--name", "张敏", "--password-stdin", stdin="Qingcheng-2026!\n")
    assert code == 0, out
    code, out = _run(settings, "users", "create", "bot", "--role", "worker")
    assert code == 0, out
    code, out = _run(settings, "users", "token", "create", "bot", "--days", "7")
    token_id, secret = out.split()[1], out.strip().splitlines()[-1]
    assert code == 0 and secret.startswith("apr_")
    code, out = _run(settings, "users", "token", "list")
    assert token_id in out and "active" in out and secret not in out
    assert _run(settings, "users", "token", "revoke", token_id)[0] == 0
    assert "revoked" in _run(settings, "users", "token", "list", "bot")[1]
    assert _run(settings, "users", "disable", "zhang.min", "--reason", "调岗")[0] == 0
    code, out = _run(settings, "users", "list")
    assert "zhang.min" in out and "disabled" in out
    code, out = _run(settings, "users", "demo")
    assert code == 0 and "clerk.nrp" in out and "auditor" in out and "worker token (shown once): apr_" in out
    code, again = _run(settings, "users", "demo")
    assert "(exists)" in again and "worker token" not in again
