"""Loading a year's schedule: provisional due times are recomputed (an event each); early firings are flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from engine.cli import main
from engine.config import Settings
from engine.models import TimerStatus
from tests.conftest import DATA, HMAC_KEY, ROOT
from tests.timers.conftest import Engine, shanghai

EXAMPLE_2027 = DATA / "calendar_2027_example.toml"


@pytest.fixture
def cli(settings: Settings, app: Flask) -> CliRunnerFor:
    return CliRunnerFor(settings)


class CliRunnerFor:
    def __init__(self, settings: Settings) -> None:
        self.env = {"APPROVALS_DATABASE__URL": settings.database.url, "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY,
                    "APPROVALS_PATHS__VAR": settings.paths.var, "APPROVALS_SCHEDULER__ENABLED": "false"}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(ROOT / "config.toml"), *args], env=self.env)


def test_add_days_and_show_on_the_command_line(cli: CliRunnerFor) -> None:
    result = cli("calendar", "add-days", "2026-02-13", "2")
    assert (result.exit_code, result.output) == (0, "2026-02-24\n")
    assert cli("calendar", "add-days", "2026-09-18", "6").output == "2026-09-28\n"
    assert cli("calendar", "add-days", "2027-02-03", "5").output == "2027-02-12 (provisional)\n"
    show = cli("calendar", "show", "2026")
    assert show.exit_code == 0 and "2026: 248 working days;" in show.output and "2026-02-14" in show.output
    bad = cli("calendar", "add-days", "13/02/2026", "2")
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_loading_2027_reschedules_waiting_timers_and_flags_an_early_deemed_approval(
        engine: Engine, cli: CliRunnerFor, tmp_path: Path) -> None:
    engine.deploy("timer_deemed_review")
    # A: started Wed 2/3; provisional rule (春节 2/5–2/8 only) makes day 5 Fri 2/12; the example schedule
    # (2/5–2/13 off) makes it Thu 2/18. B: started Wed 2/10: provisional 2/17; in the example 2/10 is a holiday,
    # so its days are 2/15–2/19.
    engine.clock.set(shanghai(2027, 2, 3, 10))
    early = engine.start("timer_deemed_review")
    engine.clock.set(shanghai(2027, 2, 10, 10))
    waiting = engine.start("timer_deemed_review")
    (timer_b,) = engine.timers(waiting)
    assert (timer_b.due_at, timer_b.provisional) == (shanghai(2027, 2, 17, 23, 59, 59), True)
    assert engine.timers(early)[0].due_at == shanghai(2027, 2, 12, 23, 59, 59)
    assert len(engine.tick(shanghai(2027, 2, 12, 23, 59, 59)).fired) == 1  # A's deemed approval, on provisional data

    result = cli("calendar", "load", str(EXAMPLE_2027))
    assert result.exit_code == 0, result.output
    assert "rescheduled 1 timer(s), 1 task due date(s)" in result.output
    assert "FLAGGED 1 timer(s)" in result.output and early in result.output

    (timer_b,) = engine.timers(waiting)
    assert (timer_b.due_at, timer_b.provisional, timer_b.status) == (
        shanghai(2027, 2, 19, 23, 59, 59), False, TimerStatus.WAITING)
    (task_b,) = engine.tasks(waiting)
    assert task_b.due_at == shanghai(2027, 2, 19, 23, 59, 59)
    moved = [e for e in engine.events(waiting) if e.kind == "timer:rescheduled"]
    assert {e.payload["reason"] for e in moved} == {"calendar_loaded"} and len(moved) == 2  # timer + task
    (flag,) = [e for e in engine.events(early) if e.kind == "timer:fired_early"]
    assert flag.payload["due_at"] == "2027-02-18T15:59:59.000000Z"
    assert engine.timers(early)[0].status == TimerStatus.FIRED  # flagged, never reversed
    assert "calendar:loaded" in engine.kinds("system")
    assert cli("calendar", "add-days", "2027-02-03", "5").output == "2027-02-18\n"
    assert "2027: " in cli("calendar", "show", "2027").output
    assert cli("audit", "verify").exit_code == 0

    # Not fired one second early on the new schedule either.
    assert engine.tick(shanghai(2027, 2, 19, 23, 59, 58)).candidates == 0
    assert len(engine.tick(shanghai(2027, 2, 19, 23, 59, 59)).fired) == 1

    again = cli("calendar", "load", str(EXAMPLE_2027))
    assert again.exit_code == 0 and again.output.startswith("unchanged 2027 v1")
    changed = tmp_path / "2027.toml"
    changed.write_text(EXAMPLE_2027.read_text(encoding="utf-8").replace("to = 2027-02-13", "to = 2027-02-12"),
                       encoding="utf-8")
    refused = cli("calendar", "load", str(changed))
    assert refused.exit_code == 1 and "version = 2" in refused.output
    bumped = tmp_path / "2027v2.toml"
    bumped.write_text(changed.read_text(encoding="utf-8").replace("version = 1", "version = 2"), encoding="utf-8")
    assert cli("calendar", "load", str(bumped)).output.startswith("loaded 2027 v2")


def test_a_bad_schedule_file_changes_nothing(engine: Engine, cli: CliRunnerFor, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('year = 2027\nsource = "x"\n[[holidays]]\nname = "元旦"\nfrom = 2028-01-01\n', encoding="utf-8")
    result = cli("calendar", "load", str(bad))
    assert result.exit_code == 1 and "outside the year 2027" in result.output
    assert "calendar:loaded" not in engine.kinds("system")
