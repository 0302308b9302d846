"""Account commands (issue 9): `approvals users create|list|disable|enable|unlock|password|token …|demo`.

Registered on the `approvals` group by cli.py; every change is written to the `system` history chain with
the operator (`cli:<os user>`) as the actor.
"""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session

from engine.auth import accounts, demo, tokens
from engine.auth.departments import load_departments
from engine.auth.roles import ROLE_LABELS, Role

if TYPE_CHECKING:
    from engine.cli import CliState


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


@click.group()
def users() -> None:
    """User accounts, roles, departments and API tokens."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]),
              help="repeat for several roles")
@click.option("--department", "departments", multiple=True, help="department code (clerks, leaders); repeatable")
@click.option("--name", "display_name", default=None, help="display name, e.g. 张敏")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (else prompt)")
@click.pass_obj
def create(state: CliState, username: str, roles: tuple[str, ...], departments: tuple[str, ...],
           display_name: str | None, password_stdin: bool) -> None:
    """Create USERNAME. People get a password (policy-checked); worker accounts use tokens only."""
    app = state.app
    password = None if set(roles) == {Role.WORKER.value} else _read_password(password_stdin)
    known = load_departments(app.ctx.processes_dir)
    user = state.command(lambda s: accounts.create_user(
        s, app.ctx, username.lower(), display_name=display_name, roles=roles, departments=departments,
        password=password, known_departments=known, actor=_operator(), now=app.clock.now()))
    click.echo(f"created {user.username} ({', '.join(user.roles)})")


@users.command("list")
@click.pass_obj
def list_users(state: CliState) -> None:
    """List accounts with roles, departments and state."""
    now = state.app.clock.now()

    def read(session: Session) -> list[str]:
        lines = []
        for u in accounts.list_users(session):
            flags = "disabled" if u.disabled_at else "locked" if u.locked_until and u.locked_until > now else "active"
            lines.append(f"{u.username:<20} {','.join(u.roles):<18} {','.join(u.departments) or '-':<14} "
                         f"{flags:<9} {u.display_name}")
        return lines

    for line in state.read(read):
        click.echo(line)


@users.command("disable")
@click.argument("username")
@click.option("--reason", required=True, help="why (recorded in the system history)")
@click.pass_obj
def disable(state: CliState, username: str, reason: str) -> None:
    """Disable USERNAME: signs them out everywhere; their tokens stop working."""
    app = state.app
    state.command(lambda s: accounts.disable_user(s, app.ctx, username, actor=_operator(), now=app.clock.now(),
                                                  reason=reason))
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@click.pass_obj
def enable(state: CliState, username: str) -> None:
    """Enable a disabled USERNAME."""
    app = state.app
    state.command(lambda s: accounts.enable_user(s, app.ctx, username, actor=_operator(), now=app.clock.now()))
    click.echo(f"enabled {username}")


@users.command("unlock")
@click.argument("username")
@click.pass_obj
def unlock(state: CliState, username: str) -> None:
    """Lift a lock-out after repeated failed sign-ins."""
    app = state.app
    state.command(lambda s: accounts.unlock_user(s, app.ctx, username, actor=_operator(), now=app.clock.now()))
    click.echo(f"unlocked {username}")


@users.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the new password from standard input (else prompt)")
@click.pass_obj
def password(state: CliState, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (signs them out everywhere)."""
    app = state.app
    new = _read_password(password_stdin)
    state.command(lambda s: accounts.set_password(s, app.ctx, username, new, actor=_operator(), now=app.clock.now()))
    click.echo(f"password changed for {username}")


@users.group("token")
def token() -> None:
    """API bearer tokens (for scripts and remote workers)."""


@token.command("create")
@click.argument("username")
@click.option("--days", type=int, default=None, help="lifetime in days (default [security] token_days)")
@click.option("--name", "label", default="cli", help="what the token is for")
@click.pass_obj
def token_create(state: CliState, username: str, days: int | None, label: str) -> None:
    """Issue a token for USERNAME; the secret is printed once and only its hash is stored."""
    app = state.app
    issued = state.command(lambda s: tokens.issue(s, app.ctx, username, name=label, days=days, actor=_operator(),
                                                  now=app.clock.now()))
    click.echo(f"token {issued.id} for {username}, expires {issued.expires_at.isoformat()}")
    click.echo(issued.secret)


@token.command("list")
@click.argument("username", required=False)
@click.pass_obj
def token_list(state: CliState, username: str | None) -> None:
    """List tokens (never their secrets)."""
    now = state.app.clock.now()
    rows = state.read(lambda s: [(t.id, name, t.name, t.expires_at, t.revoked_at)
                                 for t, name in tokens.list_tokens(s, username)])
    for token_id, name, label, expires_at, revoked_at in rows:
        status = "revoked" if revoked_at else "expired" if expires_at <= now else "active"
        click.echo(f"{token_id}  {name:<20} {label:<16} {status:<8} expires {expires_at.isoformat()}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
def token_revoke(state: CliState, token_id: str) -> None:
    """Revoke a token at once."""
    app = state.app
    state.command(lambda s: tokens.revoke(s, app.ctx, token_id, actor=_operator(), now=app.clock.now()))
    click.echo(f"revoked {token_id}")


@users.command("demo")
@click.pass_obj
def demo_accounts(state: CliState) -> None:
    """Create the demo accounts (a clerk and a leader per department, auditor, designer, admin, applicant,
    worker) if missing, and print them. For demonstrations only."""
    app = state.app
    known = load_departments(app.ctx.processes_dir)
    results = state.command(lambda s: demo.ensure_demo_accounts(s, app.ctx, known, actor=_operator(),
                                                                now=app.clock.now()))
    click.echo(f"demo accounts (password for people: {demo.DEMO_PASSWORD}) — not for production:")
    for result in results:
        a = result.account
        roles = "、".join(ROLE_LABELS[Role(r)] for r in a.roles)
        depts = "、".join(known.get(d, d) for d in a.departments)
        note = "" if result.created else " (exists)"
        click.echo(f"  {a.username:<18} {roles}{' · ' + depts if depts else ''}{note}")
        if result.token:
            click.echo(f"      worker token (shown once): {result.token}")


def register(group: click.Group) -> None:
    group.add_command(users)
