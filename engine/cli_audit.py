"""Auditors' commands (issue 10): `diagram`, `replay`, `report`. Registered on the `approvals` group by cli.py.

They use `click.pass_obj` (the group's CliState) so this module does not import engine.cli back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from engine.cli import CliState
    from engine.services.replay import ReplayReport


@click.command("diagram")
@click.option("--instance", "instance_id", default=None, help="an instance: its diagram with the path taken")
@click.option("--definition", "definition_id", type=int, default=None, help="a definition id: its bare diagram")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the SVG here (default: standard output)")
@click.pass_obj
def diagram(state: CliState, instance_id: str | None, definition_id: int | None, out: Path | None) -> None:
    """Render a diagram as SVG."""
    from engine.services import diagrams

    if (instance_id is None) == (definition_id is None):
        raise click.UsageError("give exactly one of --instance ID or --definition ID")

    def read(session: Session) -> bytes:
        if instance_id is not None:
            return diagrams.instance_svg(session, instance_id)
        assert definition_id is not None
        return diagrams.definition_svg(session, definition_id)

    svg = state.read(read)
    if out is None:
        sys.stdout.buffer.write(svg)
    else:
        out.write_bytes(svg)
        click.echo(f"wrote {out} ({len(svg)} bytes)")


@click.command("replay")
@click.argument("instance_id", required=False)
@click.option("--all", "all_instances", is_flag=True, help="every instance (one line each)")
@click.option("--until", "until", type=int, default=None, help="stop after the command holding event SEQ")
@click.option("--verify", is_flag=True, help="also compare the rebuilt state with the stored one")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def replay(state: CliState, instance_id: str | None, all_instances: bool, until: int | None, verify: bool,
           fmt: str) -> None:
    """Rebuild an instance from its history (as of --until SEQ); exit 1 naming the first differing event."""
    from engine.services.replay import Replayer, ReplayReport

    if (instance_id is None) == (not all_instances):
        raise click.UsageError("give an INSTANCE or --all")
    if all_instances and until is not None:
        raise click.UsageError("--until needs one INSTANCE")
    app_state = state.app

    def run(session: Session) -> list[ReplayReport]:
        with Replayer(session, app_state.ctx) as replayer:
            if instance_id is not None:
                return [replayer.replay(instance_id, until=until, verify=verify)]
            reports = []
            for report in replayer.replay_all(verify=verify):
                reports.append(report)
                if fmt == "table":
                    _echo_line(report, verify)
            return reports

    reports = state.read(run)
    failed = [r for r in reports if not r.ok]
    if fmt == "json":
        body = [r.to_json() for r in reports]
        click.echo(json.dumps(body if all_instances else body[0], ensure_ascii=False, indent=2))
    elif all_instances:
        verb = "verified" if verify else "replayed"
        click.echo(f"{len(reports)} instances {verb}, {len(failed)} differ")
    else:
        _echo_report(reports[0], verify)
    if failed:
        sys.exit(1)


def _echo_line(report: ReplayReport, verify: bool) -> None:
    if report.ok:
        what = "state verified" if verify else "events match"
        click.echo(f"ok    {report.instance_id}  {report.commands} commands, {report.last_seq} events, {what}")
    else:
        click.echo(f"FAIL  {report.instance_id}  {report.difference}", err=True)


def _echo_report(report: ReplayReport, verify: bool) -> None:
    click.echo(f"instance {report.instance_id}: replayed {report.commands} commands up to event #{report.until} "
               f"of {report.last_seq}")
    as_of = report.as_of
    if as_of is not None:
        click.echo(f"as of #{as_of.seq} ({as_of.at}): {as_of.status}")
        for task in as_of.open_tasks:
            due = f" due {task.due_at}" if task.due_at else ""
            click.echo(f"  open task  {task.bpmn_id:<24} {task.name or '':<14} {','.join(task.candidate_groups)}"
                       f"{due}  ({task.id})")
        for timer in as_of.waiting_timers:
            click.echo(f"  timer      {timer['bpmn_id']:<24} due {timer['due_at']}")
        click.echo(f"  data       {json.dumps(as_of.data, ensure_ascii=False, sort_keys=True)[:400]}")
    if report.ok:
        click.echo("state verified: identical to the stored state" if report.state_verified else "events match")
    else:
        click.echo(f"DIFFERS at {report.difference}", err=True)


@click.group("report")
def report() -> None:
    """Auditors' reports: caps, accountability, a project's Gantt chart."""


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")


@report.command("accountability")
@FORMAT
@click.pass_obj
def report_accountability(state: CliState, fmt: str) -> None:
    """Deemed approvals and overdue reviews by department and step, with the projects."""
    from engine.auth.departments import load_departments
    from engine.services import report_export, reports

    app_state = state.app
    departments = load_departments(app_state.ctx.processes_dir)
    result = state.read(lambda s: reports.accountability(s, now=app_state.clock.now(), departments=departments))
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(report_export.accountability_csv(result), nl=False)
    else:
        click.echo(report_export.accountability_table(result))


@report.command("caps")
@FORMAT
@click.option("--key", default=None, help="only instances of this process key")
@click.pass_obj
def report_caps(state: CliState, fmt: str, key: str | None) -> None:
    """Per project: working days used vs its cap, pauses and the stage breakdown."""
    from engine.services import calendars, report_export, reports

    app_state = state.app
    rows = state.read(lambda s: reports.caps(s, calendar=calendars.current(s, app_state.ctx),
                                             now=app_state.clock.now(), key=key))
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(report_export.caps_csv(rows), nl=False)
    else:
        click.echo(report_export.caps_table(rows))


@report.command("gantt")
@click.argument("instance_id")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the SVG file to write")
@click.pass_obj
def report_gantt(state: CliState, instance_id: str, out: Path) -> None:
    """A project's Gantt chart in working days (SVG, text kept as text)."""
    from engine.services import calendars, gantt

    app_state = state.app
    svg = state.read(lambda s: gantt.project_gantt(s, instance_id, calendar=calendars.current(s, app_state.ctx),
                                                   now=app_state.clock.now()))
    out.write_bytes(svg)
    click.echo(f"wrote {out} ({len(svg)} bytes)")


def register(group: click.Group) -> None:
    for command in (diagram, replay, report):
        group.add_command(command)
