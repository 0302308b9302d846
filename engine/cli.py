"""`approvals` command line. Exit codes: 0 ok, 1 finding or failure, 2 misuse (click's usage errors)."""

from __future__ import annotations

import csv
import getpass
import io
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from engine.app_state import AppState, build_state
from engine.config import load_settings
from engine.errors import ConfigError, EngineError

T = TypeVar("T")
log = logging.getLogger("engine.cli")


class CliState:
    def __init__(self, config: str | None) -> None:
        self.config = config
        self._state: AppState | None = None

    @property
    def app(self) -> AppState:
        if self._state is None:
            self._state = build_state(load_settings(self.config))
        return self._state

    def command(self, fn: Callable[[Session], T]) -> T:
        from engine.services.commands import run_command

        return run_command(self.app.sessions, fn)

    def read(self, fn: Callable[[Session], T]) -> T:
        with self.app.sessions() as session:
            return fn(session)


pass_state = click.make_pass_decorator(CliState)


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _json_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object")
    return value


def _locale() -> str:
    from engine.bpmn.lint import locale_from_env

    return locale_from_env()


class EngineGroup(click.Group):
    """Engine errors become a one-line message and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"config error: {exc.detail}", err=True)
            sys.exit(2)
        except EngineError as exc:
            click.echo(f"error: {exc.detail}", err=True)
            for field_error in getattr(exc, "errors", []) or []:
                click.echo(f"  {field_error.field}: {field_error.message}", err=True)
            for finding in exc.extensions.get("findings", []):  # deploy refused by lint: every finding
                message = finding["message_zh" if _locale() == "zh" else "message_en"]
                click.echo(f"  {finding['file']}:{finding['line']}: {finding['rule_id']}: {message}", err=True)
            sys.exit(1)


@click.group(cls=EngineGroup)
@click.option("--config", envvar="APPROVALS_CONFIG", default=None, help="config.toml path (default ./config.toml)")
@click.option("-v", "--verbose", is_flag=True, help="log at INFO level")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """Hohhot construction-project approval engine."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from engine.auth.masking import install_log_masking

    install_log_masking()  # ID-card and phone numbers never reach the log in clear
    ctx.obj = CliState(config)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@main.command()
@click.option("--port", type=int, default=None, help="port (default from [server] port)")
@click.option("--host", default=None, help="interface (default from [server] host)")
@pass_state
def serve(state: CliState, port: int | None, host: str | None) -> None:
    """Serve the web app and API (waitress) with the in-process scheduler and workers."""
    from waitress import serve as waitress_serve

    from engine import create_app
    from engine.background import start_background

    from engine import logs

    app_state = state.app
    settings = app_state.settings
    logs.configure(settings.server.log_format)  # `[server] log_format`: text or JSON lines, with request ids
    app = create_app(state=app_state)
    stop = start_background(app_state)
    host, port = host or settings.server.host, port or settings.server.port
    click.echo(f"serving http://{host}:{port}")
    # SIGTERM (systemd, docker stop) ends like Ctrl-C: waitress returns and the background services stop
    # gracefully (in-process workers finish and report the jobs they hold).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        waitress_serve(app, host=host, port=port, threads=settings.server.threads)
    finally:
        stop()


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="heads")
@pass_state
def db_upgrade(state: CliState, revision: str) -> None:
    """Migrate the database to REVISION (default: every head)."""
    from engine.migrate import upgrade

    upgrade(state.app.settings, revision)
    click.echo(f"database at {revision}")


@db.command("check")
@pass_state
def db_check(state: CliState) -> None:
    """Exit 1 if the models and the migrations differ."""
    from engine.migrate import check

    problems = check(state.app.settings)
    if problems:
        click.echo(problems, err=True)
        sys.exit(1)
    click.echo("no differences between models and migrations")


@db.command("revision")
@click.option("-m", "--message", required=True)
@pass_state
def db_revision(state: CliState, message: str) -> None:
    """Autogenerate a migration from the models."""
    from engine.migrate import revision

    revision(state.app.settings, message)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--as", "actor", default=None, help="who deploys (recorded in history)")
@pass_state
def deploy(state: CliState, paths: tuple[Path, ...], actor: str | None) -> None:
    """Deploy BPMN files (default: every processes/*.bpmn). Unchanged files keep their version."""
    from engine.services import deployments

    app_state = state.app
    files = _bpmn_files(paths or (app_state.ctx.processes_dir,))
    if not files:
        raise click.UsageError("no .bpmn files found")
    for path in files:
        out = state.command(lambda s, p=path: deployments.deploy_path(
            s, app_state.ctx, p, actor=actor or _default_actor(), now=app_state.clock.now()))
        verb = "unchanged" if out.unchanged else "deployed"
        click.echo(f"{verb} {out.key} v{out.version} ({path})")


def _bpmn_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.bpmn")) if path.is_dir() else [path])
    return files


@main.command()
@click.argument("key")
@click.option("--data", default="{}", help="start variables as a JSON object")
@click.option("--business-key", default=None)
@click.option("--as", "actor", default=None)
@pass_state
def start(state: CliState, key: str, data: str, business_key: str | None, actor: str | None) -> None:
    """Start an instance of the latest version of KEY."""
    from engine.services import instances

    variables = _json_arg(data)
    app_state = state.app
    out = state.command(lambda s: instances.start(s, app_state.ctx, key, variables, actor=actor or _default_actor(),
                                                  now=app_state.clock.now(), business_key=business_key))
    click.echo(json.dumps(out.to_json(), ensure_ascii=False, indent=2))


@main.command()
@click.option("--group", "candidate_group", default=None, help="candidate group (department code)")
@click.option("--assignee", default=None)
@click.option("--instance", "instance_id", default=None)
@pass_state
def tasks(state: CliState, candidate_group: str | None, assignee: str | None, instance_id: str | None) -> None:
    """List open tasks."""
    from engine.services import human_tasks

    rows = state.read(lambda s: human_tasks.list_tasks(s, candidate_group=candidate_group, assignee=assignee,
                                                       instance_id=instance_id, limit=200))
    for t in rows:
        groups = ",".join(t.candidate_groups)
        click.echo(f"{t.id}  {t.bpmn_id:<24} {t.name or '':<12} groups={groups:<10} "
                   f"assignee={t.assignee or '-'}  instance={t.instance_id}")


@main.command()
@click.argument("task_id")
@click.option("--data", default="{}", help="form data as a JSON object")
@click.option("--as", "actor", required=True, help="the user completing the task")
@pass_state
def complete(state: CliState, task_id: str, data: str, actor: str) -> None:
    """Complete TASK with form data."""
    from engine.services import human_tasks

    variables = _json_arg(data)
    app_state = state.app
    out = state.command(lambda s: human_tasks.complete(s, app_state.ctx, task_id, variables, actor=actor,
                                                       now=app_state.clock.now()))
    click.echo(f"completed {out.bpmn_id} ({out.id})")


@main.command("history")
@click.argument("instance_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@pass_state
def history_cmd(state: CliState, instance_id: str, fmt: str) -> None:
    """Print an instance's history."""
    from engine.dto import EventOut
    from engine.services import history, instances

    def read(session: Session) -> list[EventOut]:
        instances.get_instance(session, instance_id)
        return [EventOut.from_model(e) for e in history.list_events(session, instance_id)]

    events = state.read(read)
    if fmt == "json":
        click.echo(json.dumps([e.to_json() for e in events], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["seq", "at", "kind", "actor", "payload", "hash"])
        for e in events:
            writer.writerow([e.seq, e.at, e.kind, e.actor, json.dumps(e.payload, ensure_ascii=False), e.hash])
        click.echo(buffer.getvalue(), nl=False)
    else:
        for e in events:
            payload = json.dumps(e.payload, ensure_ascii=False)
            click.echo(f"{e.seq:>4}  {e.at}  {e.kind:<22} {e.actor:<16} {payload[:120]}")


@main.group()
def audit() -> None:
    """Tamper evidence."""


@audit.command("verify")
@pass_state
def audit_verify(state: CliState) -> None:
    """Recompute every history chain and check the signed heads; exit 1 naming the first bad row."""
    from engine.services import history

    app_state = state.app
    problems = state.read(lambda s: history.verify_all(s, app_state.ctx.hmac_key))
    if problems:
        for problem in problems:
            click.echo(f"FAIL {problem}", err=True)
        sys.exit(1)
    click.echo("all history chains verify")


# Time commands (calendar, clock, scheduler) live in their own module.
from engine.cli_time import register as _register_time_commands  # noqa: E402

_register_time_commands(main)


# Auditors' commands (diagram, replay, report) live in their own module.
from engine.cli_audit import register as _register_audit_commands  # noqa: E402

_register_audit_commands(main)


# Account commands (users, tokens, demo accounts) live in their own module.
from engine.cli_users import register as _register_user_commands  # noqa: E402

_register_user_commands(main)


# Worker commands (worker, jobs, incidents) live in their own module.
from engine.cli_workers import register as _register_worker_commands  # noqa: E402

_register_worker_commands(main)


# `lint` lives in its own module.
from engine.cli_lint import register as _register_lint_command  # noqa: E402

_register_lint_command(main)


# The bureau's records (catalog, applicants, applications, credit, notices, obligations) live in their own module.
from engine.cli_bureau import register as _register_bureau_commands  # noqa: E402

_register_bureau_commands(main)


# Designers' commands (definitions diff, migrate, test-processes) live in their own module.
from engine.cli_designers import register as _register_designer_commands  # noqa: E402

_register_designer_commands(main)


# `simulate` lives in its own module.
from engine.cli_simulate import register as _register_simulate_command  # noqa: E402

_register_simulate_command(main)


# The applicants' portal (notifications outbox, stored documents) lives in its own module (issue 8).
from engine.cli_portal import register as _register_portal_commands  # noqa: E402

_register_portal_commands(main)


# `db backup` / `db restore` (SQLite online backup) live in their own module (issue 13).
from engine.cli_backup import register as _register_backup_commands  # noqa: E402

_register_backup_commands(db)
