"""Time commands: `calendar show|load|add-days`, `clock show|set|advance` and `scheduler`."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from engine.calendar import SHANGHAI, read_schedule
from engine.cli import CliState, _default_actor, pass_state

_DELTA = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date like 2026-02-13") from None


def _instant(text: str) -> datetime:
    """ISO 8601; without an offset it is Asia/Shanghai (never the machine's zone)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time like 2026-04-13T23:59:59+08:00") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


def _delta(text: str) -> timedelta:
    match = _DELTA.match(text.strip())
    if not text.strip() or not match:
        raise click.BadParameter(f"{text!r} is not a duration like 5d, 2h30m or 90s")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


def _local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).isoformat() if at else "-"


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar (工作日): loaded schedules > chinesecalendar > provisional rule."""


@calendar_group.command("show")
@click.argument("year", type=int)
@pass_state
def calendar_show(state: CliState, year: int) -> None:
    """Print YEAR's working-day count, its holidays and make-up working days."""
    from engine.services import calendars

    summary = state.read(lambda s: calendars.show_year(s, state.app.ctx, year))
    mark = " (provisional)" if summary.provisional else ""
    click.echo(f"{year}: {summary.working_days} working days{mark}; source: {summary.source}")
    click.echo("holidays: " + (", ".join(d.isoformat() for d in summary.holidays) or "-"))
    click.echo("make-up working days: " + (", ".join(d.isoformat() for d in summary.workdays) or "-"))


@calendar_group.command("add-days")
@click.argument("start", metavar="DATE")
@click.argument("n", type=int)
@pass_state
def calendar_add_days(state: CliState, start: str, n: int) -> None:
    """Print the Nth working day after DATE (DATE not counted)."""
    from engine.services import calendars

    result = state.read(lambda s: calendars.add_days(s, state.app.ctx, _date(start), n))
    click.echo(result.date.isoformat() + (" (provisional)" if result.provisional else ""))


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default=None, help="who loads it (recorded in history)")
@pass_state
def calendar_load(state: CliState, file: Path, actor: str | None) -> None:
    """Load a year's official schedule from a TOML file; move affected due times; flag early firings."""
    from engine.services import calendars

    schedule = read_schedule(file)
    app = state.app
    report = state.command(lambda s: calendars.load_year(s, app.ctx, schedule, actor=actor or _default_actor(),
                                                         now=app.clock.now()))
    if report.unchanged:
        click.echo(f"unchanged {report.year} v{report.version} ({report.working_days} working days)")
        return
    click.echo(f"loaded {report.year} v{report.version}: {report.working_days} working days ({report.source})")
    click.echo(f"rescheduled {len(report.rescheduled)} timer(s), {report.tasks_rescheduled} task due date(s)")
    for moved in report.rescheduled:
        click.echo(f"  {moved.instance_id} {moved.bpmn_id}: {_local(moved.old_due)} -> {_local(moved.new_due)}"
                   + (" (provisional)" if moved.provisional else ""))
    if report.flagged:
        click.echo(f"FLAGGED {len(report.flagged)} timer(s) that fired earlier than this schedule allows "
                   "(not reversed; review them):")
        for flag in report.flagged:
            click.echo(f"  {flag.instance_id} {flag.bpmn_id}: fired {_local(flag.fired_at)}, "
                       f"due {_local(flag.due_now)}")


@click.group("clock")
def clock_group() -> None:
    """The shared simulated clock ([clock] mode = "simulated"); refused in system mode."""


def _simulated(state: CliState) -> None:
    if state.app.settings.clock.mode != "simulated":
        raise click.UsageError('the clock is the system clock; set [clock] mode = "simulated" to control it')


@clock_group.command("show")
@pass_state
def clock_show(state: CliState) -> None:
    """Print the simulated time (UTC and Asia/Shanghai)."""
    from engine import db_clock

    _simulated(state)
    now = state.read(db_clock.read)
    if now is None:
        click.echo("not set (run `approvals clock set TIME`)")
        return
    click.echo(json.dumps({"utc": now.isoformat(), "shanghai": _local(now)}))


@clock_group.command("set")
@click.argument("when", metavar="TIME")
@click.option("--as", "actor", default=None)
@pass_state
def clock_set(state: CliState, when: str, actor: str | None) -> None:
    """Set the simulated time to TIME (ISO 8601; no offset = Asia/Shanghai). Never backwards."""
    from engine import db_clock
    from engine.clock import SystemClock

    _simulated(state)
    instant = _instant(when)
    now = state.command(lambda s: db_clock.set_time(s, state.app.ctx, instant, actor=actor or _default_actor(),
                                                    wall=SystemClock().now()))
    click.echo(f"simulated time {_local(now)}")


@clock_group.command("advance")
@click.argument("delta", metavar="DURATION")
@click.option("--as", "actor", default=None)
@pass_state
def clock_advance(state: CliState, delta: str, actor: str | None) -> None:
    """Move the simulated time forward by DURATION (e.g. 5d, 2h30m, 90s)."""
    from engine import db_clock
    from engine.clock import SystemClock

    _simulated(state)
    step = _delta(delta)
    now = state.command(lambda s: db_clock.advance(s, state.app.ctx, step, actor=actor or _default_actor(),
                                                   wall=SystemClock().now()))
    click.echo(f"simulated time {_local(now)}")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="run one tick and exit (prints what it fired)")
@pass_state
def scheduler_command(state: CliState, once: bool) -> None:
    """Run the timer scheduler until SIGTERM (any number on PostgreSQL; one on SQLite)."""
    from engine import metrics, scheduler

    app = state.app
    if once:
        report = scheduler.tick(app)
        click.echo(f"fired {len(report.fired)}, skipped {report.skipped}, incidents {len(report.incidents)}")
        return
    click.echo(f"timer scheduler running every {app.settings.scheduler.tick_seconds}s (Ctrl-C to stop)")
    scheduler.run(app)
    click.echo(f"stopped; this process fired {metrics.TIMERS_FIRED.value:g} timer(s)")


def register(main: click.Group) -> None:
    for command in (calendar_group, clock_group, scheduler_command):
        main.add_command(command)


__all__ = ["register"]
