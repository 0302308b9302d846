"""Helpers for the timer tests: deploy a fixture from tests/data/bpmn, start, tick the scheduler service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.app_state import AppState
from engine.calendar import SHANGHAI
from engine.clock import SimulatedClock
from engine.models import HumanTask, InstanceEvent, ProcessInstance, Timer
from engine.services import instances, timers
from engine.services.commands import run_command
from tests.conftest import DATA, engine_state

BPMN = DATA / "bpmn"


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


class Engine:
    """A thin driver over the services, on the test's simulated clock."""

    def __init__(self, app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> None:
        self.state: AppState = engine_state(app)
        self.clock = clock
        self._deploy = deploy

    def deploy(self, name: str) -> None:
        self._deploy(BPMN / f"{name}.bpmn")

    def start(self, key: str, variables: dict[str, Any] | None = None) -> str:
        now = self.clock.now()
        out = run_command(self.state.sessions, lambda s: instances.start(
            s, self.state.ctx, key, variables or {}, actor="clerk", now=now))
        return out.id

    def tick(self, at: datetime | None = None, batch: int = 100) -> timers.FireReport:
        if at is not None:
            self.clock.set(at)
        return timers.fire_due(self.state.sessions, self.state.ctx, self.clock.now(), batch)

    def timers(self, instance_id: str) -> list[Timer]:
        with self.state.sessions() as s:
            return list(s.scalars(select(Timer).where(Timer.instance_id == instance_id).order_by(Timer.created_at)))

    def tasks(self, instance_id: str) -> list[HumanTask]:
        with self.state.sessions() as s:
            return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                  .order_by(HumanTask.created_at)))

    def instance(self, instance_id: str) -> ProcessInstance:
        with self.state.sessions() as s:
            instance = s.get(ProcessInstance, instance_id)
            assert instance is not None
            return instance

    def events(self, chain: str) -> list[InstanceEvent]:
        with self.state.sessions() as s:
            return list(s.scalars(select(InstanceEvent).where(InstanceEvent.chain == chain)
                                  .order_by(InstanceEvent.seq)))

    def kinds(self, chain: str) -> list[str]:
        return [e.kind for e in self.events(chain)]


@pytest.fixture
def engine(app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> Engine:
    return Engine(app, clock, deploy)
