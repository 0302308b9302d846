"""`approvals db backup FILE` and `approvals db restore FILE [--yes]` (engine/backup.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.backup import NotSqlite

if TYPE_CHECKING:
    from engine.cli import CliState


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup_command(state: CliState, file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE while the engine runs (never overwrites)."""
    from engine import backup
    from engine.config import load_settings

    try:
        facts = backup.backup(load_settings(state.config), file)
    except NotSqlite as exc:
        raise click.UsageError(exc.detail) from exc
    click.echo(f"backed up to {facts.path}: {facts.instances} instances, {facts.events} history events, "
               f"{facts.size} bytes, integrity ok")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="replace the existing database (stop the engine first)")
@click.pass_obj
def restore_command(state: CliState, file: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup FILE, then verify every history chain."""
    from engine import backup
    from engine.app_state import build_state
    from engine.config import load_settings
    from engine.services import history

    settings = load_settings(state.config)
    try:
        facts = backup.restore(settings, file, overwrite=yes)
    except NotSqlite as exc:
        raise click.UsageError(exc.detail) from exc
    click.echo(f"restored {file} into {facts.path}: {facts.instances} instances, {facts.events} history events")
    app_state = build_state(settings)
    try:
        with app_state.sessions() as session:
            problems = history.verify_all(session, app_state.ctx.hmac_key)
    finally:
        app_state.db_engine.dispose()
    if problems:
        for problem in problems:
            click.echo(f"FAIL {problem}", err=True)
        sys.exit(1)
    click.echo("all history chains verify")


def register(db_group: click.Group) -> None:
    db_group.add_command(backup_command)
    db_group.add_command(restore_command)
