"""Helpers for the auditor tests (issue 10): drive instances through the services, call the CLI on the same DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from flask import Flask

from engine.cli import main
from engine.config import Settings
from engine.services import human_tasks, instances
from engine.services.commands import run_command
from tests.conftest import engine_state

APPROVE = {"decision": "approve", "opinion": "同意"}
REJECT = {"decision": "reject", "opinion": "不符合要求"}


def start(app: Flask, key: str, variables: dict[str, Any] | None = None, *, business_key: str = "P-7",
          actor: str = "window") -> str:
    state = engine_state(app)
    out = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, key, variables or {}, actor=actor, now=state.clock.now(), business_key=business_key))
    return out.id


def open_task_id(app: Flask, instance_id: str, bpmn_id: str) -> str:
    with engine_state(app).sessions() as session:
        return next(t.id for t in human_tasks.list_tasks(session, instance_id=instance_id) if t.bpmn_id == bpmn_id)


def complete(app: Flask, instance_id: str, bpmn_id: str, data: dict[str, Any], actor: str = "clerk") -> None:
    state = engine_state(app)
    task_id = open_task_id(app, instance_id, bpmn_id)
    run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task_id, data, actor=actor,
                                                               now=state.clock.now()))


def cli_config(settings: Settings, tmp_path: Path) -> Path:
    """A config.toml that points the CLI at the test's database, files and audit key."""
    path = tmp_path / "cli-config.toml"
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\nsqlite_synchronous = "NORMAL"\n'
        f'[paths]\nprocesses = "{settings.path(settings.paths.processes)}"\n'
        f'forms = "{settings.path(settings.paths.forms)}"\nvar = "{settings.path(settings.paths.var)}"\n'
        f'[audit]\nhmac_key = "{settings.audit.hmac_key}"\n'
        f'[scheduler]\nenabled = false\n[workers]\nenabled = false\n',
        encoding="utf-8")
    return path


def run_cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
