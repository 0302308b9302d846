"""Worker faults through the real /api/external-tasks (DESIGN.md §3.3), single process on the simulated clock:
a worker that hangs past its lock, and handlers that raise or misbehave. The effect is recorded per job id;
the engine must move each instance once, never take a late report, and keep history replayable."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.dto import DefinitionOut
from engine.models import Incident, InstanceStatus, ServiceJob, ServiceJobStatus
from engine.sdk import HttpBackend, JobContext, RetryPolicy, TaskRouter, WorkerRunner
from engine.services import history
from engine.services.replay import Replayer
from engine.worker.backends import ReportRejected, TopicLock
from tests.conftest import DATA, Auth, engine_state, flask_transport


@pytest.fixture
def backend(app: Flask, auth: Auth) -> HttpBackend:
    return HttpBackend("http://engine.test", token=auth.token("worker-bot", "worker"),
                       transport=flask_transport(app))


@pytest.fixture
def started(app: Flask, deploy: Callable[..., DefinitionOut], auth: Auth) -> str:
    deploy(DATA / "bpmn" / "effect_job.bpmn")
    client = app.test_client()
    response = client.post("/api/process-definitions/key/effect_job/start", json={"variables": {"n": 7}},
                           headers=auth.headers("li.window", "clerk", departments=["window"]))
    assert response.status_code == 201
    return str(response.get_json()["id"])


def _events(app: Flask, instance_id: str) -> list[Any]:
    state = engine_state(app)
    with state.sessions() as session:
        return history.list_events(session, instance_id, limit=1000)


def _assert_sound(app: Flask, instance_id: str) -> None:
    state = engine_state(app)
    with state.sessions() as session:
        assert history.verify_all(session, state.ctx.hmac_key) == []
        with Replayer(session, state.ctx) as replayer:
            report = replayer.replay(instance_id, verify=True)
    assert report.ok, report.difference


def test_a_worker_hanging_past_its_lock_loses_the_job_and_its_late_report_is_refused(
        app: Flask, started: str, backend: HttpBackend) -> None:
    clock = engine_state(app).clock
    effects: Counter[str] = Counter()
    lock = [TopicLock("effect.record", timedelta(seconds=10))]

    (hung,) = backend.fetch("worker-a", lock, 1, 0.0)  # worker A takes the job, then hangs
    assert backend.fetch("worker-b", lock, 1, 0.0) == []  # locked: nobody else gets it meanwhile
    clock.advance(timedelta(seconds=11))  # A is still hanging when its lock expires

    (again,) = backend.fetch("worker-b", lock, 1, 0.0)
    assert again.id == hung.id and again.attempts == 2  # the same job (same idempotency key), run number 2
    effects[again.id] += 1
    backend.complete(again.id, "worker-b", {"effect_id": again.id})

    effects[hung.id] += 0  # A wakes up: the effect is keyed by the job id, so doing it again adds nothing
    with pytest.raises(ReportRejected):
        backend.complete(hung.id, "worker-a", {"effect_id": "late"})
    with pytest.raises(ReportRejected):
        backend.extend_lock(hung.id, "worker-a", timedelta(seconds=30))

    completed = [e for e in _events(app, started) if e.kind == "job:completed"]
    assert [(e.payload["worker"], e.payload["variables"]) for e in completed] == [
        ("worker-b", {"effect_id": hung.id})]
    assert dict(effects) == {hung.id: 1}
    state = engine_state(app)
    with state.sessions() as session:
        job = session.get(ServiceJob, hung.id)
        assert job is not None and (job.status, job.finished_by) == (ServiceJobStatus.COMPLETED, "worker-b")
    _assert_sound(app, started)


def test_a_worker_that_extends_its_lock_keeps_the_job(app: Flask, started: str, backend: HttpBackend) -> None:
    clock = engine_state(app).clock
    lock = [TopicLock("effect.record", timedelta(seconds=10))]
    (job,) = backend.fetch("worker-a", lock, 1, 0.0)
    clock.advance(timedelta(seconds=8))
    backend.extend_lock(job.id, "worker-a", timedelta(seconds=60))
    clock.advance(timedelta(seconds=30))  # past the first lock, within the extension
    assert backend.fetch("worker-b", lock, 1, 0.0) == []
    backend.complete(job.id, "worker-a", {})
    _assert_sound(app, started)


def _misbehaving(kind: str) -> TaskRouter:
    router = TaskRouter()

    @router.task("effect.record", retry=RetryPolicy(retries=2, initial_delay=timedelta(seconds=1)))
    def record(n: int, ctx: JobContext) -> Any:
        if kind == "raises":
            raise RuntimeError(f"the registry is down (run {ctx.attempt})")
        if kind == "nan":
            return {"amount": math.nan}  # not JSON: refused by the runner before it reaches the engine
        if kind == "not-a-dict":
            return ["permit"]
        if kind == "missing-variable":
            raise KeyError("applicant")
        raise AssertionError(kind)

    return router


@pytest.mark.parametrize("kind", ["raises", "nan", "not-a-dict", "missing-variable"])
def test_a_handler_that_raises_or_misbehaves_is_retried_then_an_incident_and_nothing_is_half_done(
        app: Flask, started: str, backend: HttpBackend, auth: Auth, kind: str) -> None:
    state = engine_state(app)
    runner = WorkerRunner(state.settings, [_misbehaving(kind)], backend=backend, worker_id="w", topics=["*"])
    runs = 0
    for _ in range(5):
        runs += runner.run_until_idle()
        state.clock.advance(timedelta(seconds=2))  # past the retry delay
    assert runs == 3  # the first run and 2 retries, then an incident: no fourth run
    kinds = [e.kind for e in _events(app, started)]
    assert kinds.count("job:failed") == 3 and kinds.count("instance:incident") == 1
    assert "job:completed" not in kinds
    with state.sessions() as session:
        (job,) = session.scalars(select(ServiceJob))
        (incident,) = session.scalars(select(Incident))
        assert (job.status, job.retries, incident.status) == (ServiceJobStatus.INCIDENT, 0, "open")
        assert job.error_message
    instance = app.test_client().get(f"/api/process-instances/{started}", headers=auth.headers("audit", "auditor"))
    assert instance.get_json()["status"] == InstanceStatus.RUNNING
    assert instance.get_json()["variables"] == {"n": 7}  # no half result merged into the process data

    # An admin retries the incident once the cause is fixed: the job runs again and the instance completes.
    admin = auth.headers("root", "admin")
    assert app.test_client().post(f"/api/incidents/{incident.id}/retry", json={"retries": 1},
                                  headers=admin).status_code == 200
    good = TaskRouter()

    @good.task("effect.record")
    def record(n: int) -> dict[str, int]:
        return {"effect": n}

    assert WorkerRunner(state.settings, [good], backend=backend, worker_id="w2", topics=["*"]).run_until_idle() == 1
    with state.sessions() as session:
        from engine.models import ProcessInstance

        instance = session.get(ProcessInstance, started)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
    _assert_sound(app, started)
