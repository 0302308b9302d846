"""The shared simulated clock (`[clock] mode`, `approvals clock …`) and the APScheduler tick."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

from click.testing import CliRunner, Result
from flask import Flask

from engine import create_app, db_clock, scheduler
from engine.cli import main
from engine.config import ClockSettings, SchedulerSettings, Settings
from engine.models import InstanceStatus
from tests.conftest import HMAC_KEY, ROOT, engine_state
from tests.timers.conftest import Engine, shanghai


def _cli(settings: Settings, *args: str, mode: str = "simulated") -> Result:
    env = {"APPROVALS_DATABASE__URL": settings.database.url, "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY,
           "APPROVALS_PATHS__VAR": settings.paths.var, "APPROVALS_CLOCK__MODE": mode}
    return CliRunner().invoke(main, ["--config", str(ROOT / "config.toml"), *args], env=env)


def test_clock_commands_are_refused_in_system_mode(settings: Settings, app: Flask) -> None:
    result = _cli(settings, "clock", "show", mode="system")
    assert result.exit_code == 2 and "system clock" in result.output


def test_simulated_time_is_shared_through_the_database(settings: Settings, app: Flask) -> None:
    assert _cli(settings, "clock", "show").output.startswith("not set")
    assert _cli(settings, "clock", "set", "2026-04-03T16:30").output == "simulated time 2026-04-03T16:30:00+08:00\n"
    assert _cli(settings, "clock", "advance", "2d1h").output == "simulated time 2026-04-05T17:30:00+08:00\n"
    back = _cli(settings, "clock", "set", "2026-04-01T00:00:00+08:00")
    assert back.exit_code == 1 and "does not go backwards" in back.output
    assert _cli(settings, "clock", "advance", "soon").exit_code == 2
    # Another app object on the same database (another process, in production) reads the same time.
    simulated = dataclasses.replace(settings, clock=ClockSettings(mode="simulated"))
    other = create_app(simulated)
    state = engine_state(other)
    assert isinstance(state.clock, db_clock.DatabaseClock)
    assert state.clock.now() == shanghai(2026, 4, 5, 17, 30)
    events = [e.kind for e in Engine(other, None, None).events("system")]  # type: ignore[arg-type]
    assert events.count("clock:set") == 2
    state.db_engine.dispose()


def test_the_scheduler_fires_overdue_timers_at_start_up(engine: Engine, settings: Settings) -> None:
    engine.deploy("timer_then_script")
    engine.clock.set(shanghai(2026, 3, 2, 9))
    instance_id = engine.start("timer_then_script", {"divisor": 5})
    engine.clock.advance(timedelta(days=1))  # overdue before the scheduler starts
    state = dataclasses.replace(engine.state, settings=dataclasses.replace(
        settings, scheduler=SchedulerSettings(enabled=True, tick_seconds=3600, batch_size=10)))
    stop = scheduler.start_if_enabled(state)
    try:
        done, waited = threading.Event(), 0.0
        while engine.instance(instance_id).status != InstanceStatus.COMPLETED and waited < 10:
            done.wait(0.05)  # the first tick runs in the scheduler's thread right at start-up
            waited += 0.05
    finally:
        stop()
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED


def test_scheduler_once_on_the_command_line(engine: Engine, settings: Settings) -> None:
    engine.deploy("timer_then_script")
    _cli(settings, "clock", "set", "2026-03-02T09:00")
    simulated = create_app(dataclasses.replace(settings, clock=ClockSettings(mode="simulated")))
    driver = Engine(simulated, engine_state(simulated).clock, None)  # type: ignore[arg-type]
    instance_id = driver.start("timer_then_script", {"divisor": 5})
    assert _cli(settings, "scheduler", "--once").output == "fired 0, skipped 0, incidents 0\n"
    _cli(settings, "clock", "advance", "1h")
    assert _cli(settings, "scheduler", "--once").output == "fired 1, skipped 0, incidents 0\n"
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    engine_state(simulated).db_engine.dispose()
