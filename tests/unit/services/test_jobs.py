"""services.jobs on SQLite and the test clock: claim order and topics, locks and their expiry, who may report,
and bad input that changes nothing. (PostgreSQL's SKIP LOCKED concurrency: tests/integration.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut, JobOut
from engine.errors import InstanceNotRunning, InvalidInput, JobNotClaimed, JobNotFound, JobNotOpen
from engine.models import ProcessInstance, ServiceJob
from engine.services import history, instances, jobs
from engine.services.commands import run_command
from engine.services.jobs import TopicRequest
from tests.conftest import engine_state

TWO_TOPICS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="two_topics" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:outgoing>f2</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:serviceTask id="notify" camunda:type="external" camunda:topic="land_use.notify" camunda:taskPriority="PRIO">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:serviceTask id="issue">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="permit.issue">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="project" type="str" value="project_name" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="notify" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="issue" />
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="end1" />
    <bpmn:sequenceFlow id="f4" sourceRef="issue" targetRef="end2" />
  </bpmn:process>
</bpmn:definitions>
"""
LOCK = timedelta(minutes=5)
Claim = Callable[..., list[JobOut]]


@pytest.fixture
def two_topics(tmp_path: Path, deploy: Callable[..., DefinitionOut]) -> Callable[..., str]:
    def _deploy(priority: int = 0) -> str:
        path = tmp_path / "two_topics.bpmn"
        path.write_text(TWO_TOPICS.replace("PRIO", str(priority)), encoding="utf-8")
        deploy(path)
        return path.name

    return _deploy


def _start(app: Flask, variables: dict[str, Any] | None = None) -> str:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "two_topics", variables or {"project_name": "示范"}, actor="clerk", now=state.clock.now())).id


@pytest.fixture
def claim(app: Flask) -> Claim:
    state = engine_state(app)

    def _claim(*topics: str, worker: str = "w1", max_jobs: int = 10, lock: timedelta = LOCK) -> list[JobOut]:
        return run_command(state.sessions, lambda s: jobs.claim(
            s, state.ctx, [TopicRequest(t, lock) for t in topics], worker=worker, max_jobs=max_jobs,
            now=state.clock.now()))

    return _claim


def _command(app: Flask, fn: Callable[..., Any]) -> Any:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: fn(s, state))


def test_service_tasks_become_claimable_jobs_with_their_payload(app: Flask, two_topics: Callable[..., str],
                                                                 claim: Claim) -> None:
    two_topics(priority=0)
    instance_id = _start(app, {"project_name": "示范", "other": 1})
    [issue] = claim("permit.issue")
    assert (issue.bpmn_id, issue.instance_id, issue.process_key) == ("issue", instance_id, "two_topics")
    assert issue.variables == {"project": "示范"}  # operator parameters, evaluated in the sandbox
    [notify] = claim("land_use.*")  # a pattern; `_` in it is literal, not a LIKE wildcard
    assert notify.variables == {"project_name": "示范", "other": 1}  # no parameters: the task's data
    assert notify.lock_owner == "w1" and notify.attempts == 1
    assert claim("land?use.*") == [] and claim("*") == []


def test_higher_priority_first_then_oldest(app: Flask, two_topics: Callable[..., str], claim: Claim,
                                           clock: SimulatedClock) -> None:
    two_topics(priority=5)
    first = _start(app)
    clock.advance(timedelta(minutes=1))
    _start(app)
    order = [(j.topic, j.instance_id == first) for j in claim("*", max_jobs=4)]
    assert order == [("land_use.notify", True), ("land_use.notify", False), ("permit.issue", True),
                     ("permit.issue", False)]


def test_same_moment_jobs_of_an_instance_in_element_order_whatever_their_ids(app: Flask, two_topics: Callable[..., str],
                                                                            claim: Claim) -> None:
    """The split starts both service tasks at once: same priority, run_after and creation. Their ids are random
    (uuid4), so the claim orders them by element: with the ids made to sort the other way, `issue` still comes
    first, one job at a time and both at once (the order a worker runs them in)."""
    two_topics(priority=0)
    instance_id = _start(app)
    state = engine_state(app)
    with state.sessions.begin() as session:
        for bpmn_id, job_id in (("issue", "ffffffff-0000-4000-8000-000000000000"),
                                ("notify", "00000000-0000-4000-8000-000000000000")):
            session.execute(ServiceJob.__table__.update().where(ServiceJob.instance_id == instance_id,
                                                                ServiceJob.bpmn_id == bpmn_id).values(id=job_id))
    [first] = claim("*", max_jobs=1)
    [second] = claim("*", max_jobs=1)
    assert (first.bpmn_id, second.bpmn_id) == ("issue", "notify")
    _start(app)
    assert [j.bpmn_id for j in claim("*", max_jobs=2)] == ["issue", "notify"]


def test_each_job_is_locked_for_its_own_topic_s_duration(app: Flask, two_topics: Callable[..., str],
                                                          clock: SimulatedClock) -> None:
    """One claim, several topic requests: the first request that matches a job's topic gives its lock (the
    claim is one statement whose expiry is a CASE over the topics); the JobOut equals a re-read of the row."""
    two_topics()
    _start(app)
    state = engine_state(app)
    now = clock.now()
    requests = [TopicRequest("permit.issue", timedelta(minutes=1)), TopicRequest("land_use.*", timedelta(minutes=2)),
                TopicRequest("*", timedelta(minutes=3))]
    claimed = run_command(state.sessions, lambda s: jobs.claim(s, state.ctx, requests, worker="w1", max_jobs=10,
                                                               now=now))
    assert sorted(j.topic for j in claimed) == ["land_use.notify", "permit.issue"]
    for job in claimed:
        with state.sessions() as session:
            row = session.scalars(select(ServiceJob).where(ServiceJob.id == job.id)).one()
            expected = JobOut.from_model(row, session.get(ProcessInstance, row.instance_id), with_variables=True)
        assert job == expected
        assert row.lock_expires_at == now + (timedelta(minutes=1) if job.topic == "permit.issue"
                                             else timedelta(minutes=2))


def test_a_locked_job_is_not_claimed_again_until_its_lock_expires(app: Flask, two_topics: Callable[..., str],
                                                                  claim: Claim, clock: SimulatedClock) -> None:
    two_topics()
    _start(app)
    [job] = claim("permit.issue", worker="w1")
    assert claim("permit.issue", worker="w2") == []
    clock.advance(LOCK - timedelta(seconds=1))
    assert claim("permit.issue", worker="w2") == []
    clock.advance(timedelta(seconds=1))
    [again] = claim("permit.issue", worker="w2")
    assert (again.id, again.lock_owner, again.attempts) == (job.id, "w2", 2)

    # The first worker's late report is refused; the new owner's is taken.
    with pytest.raises(JobNotClaimed, match="locked by w2"):
        _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {}, worker="w1", actor="w1", now=st.clock.now()))
    done = _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {"permit_no": "1"}, worker="w2", actor="w2",
                                                     now=st.clock.now()))
    assert (done.status, done.finished_by, done.lock_owner) == ("completed", "w2", None)
    with pytest.raises(JobNotOpen, match="completed by w2"):
        _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {}, worker="w2", actor="w2", now=st.clock.now()))


def test_an_expired_lock_still_counts_if_nobody_took_the_job(app: Flask, two_topics: Callable[..., str],
                                                             claim: Claim, clock: SimulatedClock) -> None:
    two_topics()
    _start(app)
    [job] = claim("permit.issue")
    clock.advance(LOCK * 3)
    done = _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {}, worker="w1", actor="w1",
                                                     now=st.clock.now()))
    assert done.status == "completed"


def test_extend_lock_keeps_the_job(app: Flask, two_topics: Callable[..., str], claim: Claim,
                                   clock: SimulatedClock) -> None:
    two_topics()
    _start(app)
    [job] = claim("permit.issue")
    clock.advance(LOCK - timedelta(seconds=10))
    out = _command(app, lambda s, st: jobs.extend_lock(s, job.id, worker="w1", duration=timedelta(minutes=10),
                                                       now=st.clock.now()))
    assert out.lock_expires_at == history.format_at(clock.now() + timedelta(minutes=10))
    clock.advance(timedelta(minutes=9))
    assert claim("permit.issue", worker="w2") == []
    with pytest.raises(JobNotClaimed):
        _command(app, lambda s, st: jobs.extend_lock(s, job.id, worker="w2", duration=LOCK, now=st.clock.now()))


def test_reports_for_unknown_or_unclaimed_jobs_are_refused(app: Flask, two_topics: Callable[..., str]) -> None:
    two_topics()
    _start(app)
    with pytest.raises(JobNotFound):
        _command(app, lambda s, st: jobs.complete(s, st.ctx, "nope", {}, worker="w1", actor="w1",
                                                  now=st.clock.now()))
    with engine_state(app).sessions() as session:
        job_id = session.scalars(select(ServiceJob.id).where(ServiceJob.topic == "permit.issue")).one()
    with pytest.raises(JobNotClaimed, match="not locked"):
        _command(app, lambda s, st: jobs.fail(s, st.ctx, job_id, worker="w1", actor="w1", now=st.clock.now(),
                                              error_message="x"))


def test_suspended_instances_hand_out_no_jobs_and_take_no_results(app: Flask, two_topics: Callable[..., str],
                                                                  claim: Claim) -> None:
    two_topics()
    instance_id = _start(app)
    [job] = claim("permit.issue")
    _command(app, lambda s, st: instances.set_suspended(s, st.ctx, instance_id, True, actor="admin",
                                                        now=st.clock.now(), reason="核查"))
    assert claim("land_use.notify") == []
    with pytest.raises(InstanceNotRunning):
        _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {}, worker="w1", actor="w1",
                                                  now=st.clock.now()))
    _command(app, lambda s, st: instances.set_suspended(s, st.ctx, instance_id, False, actor="admin",
                                                        now=st.clock.now(), reason="恢复"))
    assert [j.topic for j in claim("land_use.notify")] == ["land_use.notify"]


@pytest.mark.parametrize("call, message", [
    (lambda s, st, j: jobs.claim(s, st.ctx, [], worker="w1", max_jobs=1, now=st.clock.now()), "topic"),
    (lambda s, st, j: jobs.claim(s, st.ctx, [TopicRequest("permit.issue", LOCK)], worker=" ", max_jobs=1,
                                 now=st.clock.now()), "workerId"),
    (lambda s, st, j: jobs.claim(s, st.ctx, [TopicRequest("permit.issue", LOCK)], worker="w1", max_jobs=0,
                                 now=st.clock.now()), "maxTasks"),
    (lambda s, st, j: jobs.claim(s, st.ctx, [TopicRequest("permit.issue", timedelta(0))], worker="w1", max_jobs=1,
                                 now=st.clock.now()), "lockDuration"),
    (lambda s, st, j: jobs.complete(s, st.ctx, j, {"x": float("nan")}, worker="w1", actor="w1",
                                    now=st.clock.now()), "JSON"),
    (lambda s, st, j: jobs.complete(s, st.ctx, j, ["x"], worker="w1", actor="w1", now=st.clock.now()), "object"),
    (lambda s, st, j: jobs.fail(s, st.ctx, j, worker="w1", actor="w1", now=st.clock.now(), error_message=""),
     "errorMessage"),
    (lambda s, st, j: jobs.fail(s, st.ctx, j, worker="w1", actor="w1", now=st.clock.now(), error_message="x",
                                retries=-1), "retries"),
    (lambda s, st, j: jobs.bpmn_error(s, st.ctx, j, "", worker="w1", actor="w1", now=st.clock.now()),
     "errorCode"),
    (lambda s, st, j: jobs.extend_lock(s, j, worker="w1", duration=timedelta(days=2), now=st.clock.now()),
     "newDuration"),
])
def test_bad_input_is_refused_and_changes_nothing(app: Flask, two_topics: Callable[..., str], claim: Claim,
                                                  call: Callable[..., Any], message: str) -> None:
    two_topics()
    instance_id = _start(app)
    [job] = claim("permit.issue")
    state = engine_state(app)
    with state.sessions() as session:
        before = (session.get(ProcessInstance, instance_id).lock_version, history.count_events(session, instance_id),
                  session.get(ServiceJob, job.id).status)
    with pytest.raises(InvalidInput, match=message):
        _command(app, lambda s, st: call(s, st, job.id))
    with state.sessions() as session:
        after = (session.get(ProcessInstance, instance_id).lock_version, history.count_events(session, instance_id),
                 session.get(ServiceJob, job.id).status)
    assert after == before


def test_a_service_task_without_a_usable_topic_or_priority_does_not_parse() -> None:
    from engine.bpmn.parsing import load_process
    from engine.errors import InvalidBpmn

    bad = TWO_TOPICS.replace(' camunda:type="external" camunda:topic="land_use.notify"', "")
    with pytest.raises(InvalidBpmn, match="needs a topic") as info:
        load_process(bad.encode(), file="no_topic.bpmn")
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if 'id="notify"' in text)
    assert (info.value.file, info.value.line, info.value.element_id) == ("no_topic.bpmn", line, "notify")
    with pytest.raises(InvalidBpmn, match="priority must be an integer"):
        load_process(TWO_TOPICS.replace("PRIO", "high").encode(), file="bad_priority.bpmn")


def test_a_boundary_timer_cancels_the_job_and_a_late_result_is_refused(
        app: Flask, deploy: Callable[..., DefinitionOut], claim: Claim, clock: SimulatedClock) -> None:
    from engine.services import timers
    from tests.conftest import DATA

    deploy(DATA / "bpmn" / "job_with_timeout.bpmn")
    state = engine_state(app)
    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "job_with_timeout", {}, actor="clerk", now=clock.now())).id
    [job] = claim("zone.lookup")
    clock.advance(timedelta(hours=1))
    timers.fire_due(state.sessions, state.ctx, clock.now())
    with state.sessions() as session:
        assert session.get(ServiceJob, job.id).status == "cancelled"
        assert instances.get_instance(session, instance_id).status == "completed"
        kinds = [e.kind for e in history.list_events(session, instance_id)]
    assert kinds.index("timer:fired") < kinds.index("job:cancelled")
    with pytest.raises(JobNotOpen, match="cancelled"):
        _command(app, lambda s, st: jobs.complete(s, st.ctx, job.id, {"zone": "A"}, worker="w1", actor="w1",
                                                  now=st.clock.now()))
    assert claim("zone.lookup") == []
