"""processes/sample_review.bpmn with clerks and a worker: reviews -> decision -> `permit.issue` (a service task
run by a worker) -> end, or the `blacklisted` error boundary -> refusal. Retries, incidents and admin retries on
the test clock; nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.models import Incident, ServiceJob
from engine.sdk import JobContext, RetryPolicy, TaskRouter
from engine.services import history, human_tasks, incidents, instances
from engine.services.commands import run_command
from tests.conftest import engine_state

APPROVE = {"decision": "approve", "opinion": "符合要求"}
REJECT = {"decision": "reject", "opinion": "不符合规划条件"}
RunJobs = Callable[..., int]


def _approved_instance(app: Flask, variables: dict[str, Any], decisions: dict[str, Any] | None = None) -> str:
    """Start the sample and complete the three reviews (all approving unless `decisions` says otherwise)."""
    state = engine_state(app)
    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "sample_review", variables, actor="window", now=state.clock.now())).id
    with state.sessions() as session:
        tasks = human_tasks.list_tasks(session, instance_id=instance_id)
    for task in tasks:
        data = (decisions or {}).get(task.bpmn_id, APPROVE)
        run_command(state.sessions, lambda s, t=task, d=data: human_tasks.complete(
            s, state.ctx, t.id, d, actor="clerk", now=state.clock.now()))
    return instance_id


def _job(app: Flask, instance_id: str) -> ServiceJob:
    with engine_state(app).sessions() as session:
        return session.scalars(select(ServiceJob).where(ServiceJob.instance_id == instance_id)).one()


def _instance(app: Flask, instance_id: str) -> Any:
    state = engine_state(app)
    with state.sessions() as session:
        return instances.describe(session, state.ctx, instance_id)


def _kinds(app: Flask, instance_id: str) -> list[str]:
    with engine_state(app).sessions() as session:
        return [e.kind for e in history.list_events(session, instance_id)]


def _reached(app: Flask, instance_id: str) -> set[str]:
    with engine_state(app).sessions() as session:
        return {el for e in history.list_events(session, instance_id) if e.kind == "instance:advanced"
                for el in e.payload["elements"]}


@pytest.fixture(autouse=True)
def _deployed(deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")


def test_approval_waits_for_the_permit_worker_then_ends_approved(app: Flask, run_jobs: RunJobs) -> None:
    instance_id = _approved_instance(app, {"project": "呼和浩特示范项目"})
    job = _job(app, instance_id)
    assert (job.topic, job.bpmn_id, job.status, job.retries) == ("permit.issue", "issue_permit", "available", 3)
    assert job.payload["project"] == "呼和浩特示范项目"
    assert _instance(app, instance_id).status == "running"

    assert run_jobs() == 1
    instance = _instance(app, instance_id)
    assert instance.status == "completed"
    permit_no = instance.variables["permit"]["permit_no"]
    assert permit_no == "呼建许-" + job.id.replace("-", "")[:10].upper()  # derived from the idempotency key
    assert "end_approved" in _reached(app, instance_id)
    kinds = _kinds(app, instance_id)
    assert kinds.index("job:created") < kinds.index("job:completed") < kinds.index("instance:completed")
    assert _job(app, instance_id).status == "completed"
    assert run_jobs() == 0


def test_a_blacklisted_applicant_takes_the_error_boundary_and_is_never_retried(app: Flask, run_jobs: RunJobs) -> None:
    instance_id = _approved_instance(app, {"project": "某项目", "applicant_code": "91150100MA0BLACK01"})
    assert run_jobs() == 1
    instance = _instance(app, instance_id)
    assert instance.status == "completed"
    assert instance.variables["refusal"]["code"] == "blacklisted"
    assert instance.variables["refusal_reason"] == "失信主体"
    assert "permit" not in instance.variables
    reached = _reached(app, instance_id)
    assert {"permit_refused", "end_blacklisted"} <= reached and "end_approved" not in reached
    job = _job(app, instance_id)
    assert (job.status, job.failures) == ("bpmn_error", 0)
    assert "job:failed" not in _kinds(app, instance_id)


def test_a_rejected_project_needs_no_worker(app: Flask, run_jobs: RunJobs) -> None:
    instance_id = _approved_instance(app, {}, {"review_design": REJECT})
    assert _instance(app, instance_id).status == "completed"
    assert "end_rejected" in _reached(app, instance_id)
    assert run_jobs() == 0


def _flaky_router(failures: int, calls: list[str]) -> TaskRouter:
    """permit.issue that raises `failures` times, then issues."""
    router = TaskRouter()

    @router.task("permit.issue", retry=RetryPolicy(retries=5, initial_delay=timedelta(minutes=1), backoff=2.0))
    def issue(ctx: JobContext) -> dict[str, object]:
        calls.append(ctx.job_id)
        if len(calls) <= failures:
            raise ConnectionError("证照系统暂时不可用")
        return {"permit_no": "P-1"}

    return router


def test_a_failing_handler_is_retried_after_its_delay(app: Flask, run_jobs: RunJobs, clock: SimulatedClock) -> None:
    instance_id = _approved_instance(app, {})
    calls: list[str] = []
    router = _flaky_router(2, calls)
    assert run_jobs(router) == 1
    job = _job(app, instance_id)
    # The BPMN seeds 3 retries; the first failure keeps them (Camunda's rule), the delay is the policy's.
    assert (job.status, job.retries, job.failures) == ("available", 3, 1)
    assert job.run_after == clock.now() + timedelta(minutes=1)
    assert "ConnectionError: 证照系统暂时不可用" in (job.error_message or "")

    assert run_jobs(router) == 0  # not before the delay
    clock.advance(timedelta(seconds=59))
    assert run_jobs(router) == 0
    clock.advance(timedelta(seconds=1))
    assert run_jobs(router) == 1
    job = _job(app, instance_id)
    assert (job.status, job.retries, job.failures) == ("available", 2, 2)
    assert job.run_after == clock.now() + timedelta(minutes=2)  # backoff 2: 1 min, then 2 min

    clock.advance(timedelta(minutes=2))
    assert run_jobs(router) == 1
    assert _instance(app, instance_id).status == "completed"
    assert calls == [job.id] * 3  # the same idempotency key every time
    with engine_state(app).sessions() as session:
        failed = [e.payload for e in history.list_events(session, instance_id) if e.kind == "job:failed"]
    assert [(f["attempt"], f["retries"]) for f in failed] == [(1, 3), (2, 2)]


def test_exhausted_retries_open_an_incident_that_an_admin_retries(app: Flask, run_jobs: RunJobs,
                                                                  clock: SimulatedClock) -> None:
    instance_id = _approved_instance(app, {})
    calls: list[str] = []
    router = _flaky_router(4, calls)
    for _run in range(4):  # retries = 3: up to 4 runs
        assert run_jobs(router) == 1
        clock.advance(timedelta(hours=1))
    job = _job(app, instance_id)
    assert (job.status, job.retries, job.failures) == ("incident", 0, 4)
    assert run_jobs(router) == 0
    state = engine_state(app)
    with state.sessions() as session:
        [incident] = incidents.list_incidents(session)
    assert (incident.kind, incident.job_id, incident.bpmn_id) == ("failed_job", job.id, "issue_permit")
    assert "after 4 attempt(s)" in incident.message
    assert "instance:incident" in _kinds(app, instance_id)

    out = run_command(state.sessions, lambda s: incidents.retry(s, state.ctx, incident.id, retries=1,
                                                                actor="admin", now=clock.now()))
    assert (out.status, out.resolved_by) == ("resolved", "admin")
    assert run_jobs(router) == 1
    assert _instance(app, instance_id).status == "completed"
    kinds = _kinds(app, instance_id)
    assert kinds.index("instance:incident") < kinds.index("job:retried") < kinds.index("job:completed")
    with state.sessions() as session:
        assert incidents.list_incidents(session) == []
        assert session.get(Incident, incident.id).status == "resolved"


def test_terminating_an_instance_cancels_its_job(app: Flask, run_jobs: RunJobs) -> None:
    instance_id = _approved_instance(app, {})
    state = engine_state(app)
    run_command(state.sessions, lambda s: instances.terminate(s, state.ctx, instance_id, actor="admin",
                                                              now=state.clock.now(), reason="撤回"))
    assert _job(app, instance_id).status == "cancelled"
    assert "job:cancelled" in _kinds(app, instance_id)
    assert run_jobs() == 0
