"""The worker SDK as handler authors see it: routing, parameter binding, retry policies, the two error intents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from engine.config import Settings
from engine.sdk import (
    BpmnError,
    DuplicateTopic,
    FetchedJob,
    HandlerInputError,
    JobContext,
    RetryPolicy,
    TaskRouter,
    WorkerRunner,
)

CTX = JobContext(job_id="job-1", topic="permit.issue")


def test_next_delay_follows_the_documented_formula_and_stops_after_the_retries() -> None:
    policy = RetryPolicy(retries=4, initial_delay=timedelta(seconds=10), backoff=3.0, max_delay=timedelta(minutes=2))
    assert [policy.next_delay(a) for a in (1, 2, 3, 4)] == [
        timedelta(seconds=10), timedelta(seconds=30), timedelta(seconds=90), timedelta(minutes=2)]
    assert policy.next_delay(5) is None
    assert RetryPolicy(retries=0).next_delay(1) is None
    with pytest.raises(ValueError):
        policy.next_delay(0)


@pytest.mark.parametrize("kwargs", [{"retries": -1}, {"retries": True}, {"backoff": 0.5},
                                    {"initial_delay": timedelta(hours=2), "max_delay": timedelta(hours=1)}])
def test_a_nonsensical_retry_policy_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_a_topic_registered_twice_raises_at_import_time() -> None:
    router, other = TaskRouter(), TaskRouter()

    @router.task("permit.issue")
    def issue() -> None: ...

    with pytest.raises(DuplicateTopic, match="permit.issue"):
        @router.task("permit.issue")
        def issue_again() -> None: ...

    @other.task("permit.issue")
    def issue_elsewhere() -> None: ...

    combined = TaskRouter()
    combined.include_router(router)
    with pytest.raises(DuplicateTopic):
        combined.include_router(other)
    combined.include_router(router)  # the same handler twice is harmless


@pytest.mark.parametrize("topic", ["Permit.issue", "permit", "permit issue", "bench/intake", "permit.", ""])
def test_topics_are_domain_dot_action_in_lower_snake_case(topic: str) -> None:
    with pytest.raises(ValueError, match="lower snake case"):
        TaskRouter().task(topic)


@dataclass
class Applicant:
    name: str
    code: str


def test_parameters_are_variables_the_context_is_injected_and_dataclasses_are_built() -> None:
    router = TaskRouter()
    seen: dict[str, Any] = {}

    @router.task("applicant.check")
    def check(applicant: Applicant, ctx: JobContext, project: str, note: str = "none") -> dict[str, object]:
        seen.update(applicant=applicant, ctx=ctx, project=project, note=note)
        return {"ok": True}

    handler = router.handler("applicant.check")
    assert handler is not None
    variables = {"applicant": {"name": "甲公司", "code": "9115", "extra": 1}, "project": "P", "other": 2}
    assert handler(variables, CTX) == {"ok": True}
    assert seen == {"applicant": Applicant("甲公司", "9115"), "ctx": CTX, "project": "P", "note": "none"}

    # Without a variable of its name, a dataclass parameter is built from the job's variables themselves.
    handler({"name": "乙公司", "code": "9116", "project": "Q"}, CTX)
    assert seen["applicant"] == Applicant("乙公司", "9116")


def test_missing_variables_and_bad_results_are_technical_failures() -> None:
    router = TaskRouter()

    @router.task("permit.issue")
    def issue(project: str) -> Any:
        return ["not", "a", "dict"] if project == "list" else None

    handler = router.handler("permit.issue")
    assert handler is not None
    with pytest.raises(HandlerInputError, match="'project'"):
        handler({}, CTX)
    with pytest.raises(TypeError, match="must return a dict"):
        handler({"project": "list"}, CTX)
    assert handler({"project": "x"}, CTX) == {}


def test_handlers_need_named_parameters() -> None:
    with pytest.raises(TypeError, match="must be named"):
        @TaskRouter().task("permit.issue")
        def issue(*args: Any) -> None: ...


def test_a_bpmn_error_needs_a_code() -> None:
    error = BpmnError("blacklisted", "失信", {"reason": "x"})
    assert (error.code, error.message, error.variables) == ("blacklisted", "失信", {"reason": "x"})
    with pytest.raises(ValueError):
        BpmnError(" ")


def test_extend_lock_needs_a_runner() -> None:
    with pytest.raises(RuntimeError):
        CTX.extend_lock(timedelta(minutes=1))


class RecordingBackend:
    """Records reports; stands in for the engine to check what the runner reports for each outcome."""

    def __init__(self) -> None:
        self.reports: list[tuple[Any, ...]] = []

    def fetch(self, *args: Any, **kwargs: Any) -> list[FetchedJob]:
        return []

    def complete(self, job_id: str, worker: str, variables: dict[str, Any]) -> None:
        self.reports.append(("complete", job_id, variables))

    def fail(self, job_id: str, worker: str, message: str, details: str | None, retries: int,
             retry_delay: timedelta) -> None:
        self.reports.append(("fail", job_id, message, retries, retry_delay))

    def bpmn_error(self, job_id: str, worker: str, code: str, message: str, variables: dict[str, Any]) -> None:
        self.reports.append(("bpmn_error", job_id, code, message, variables))

    def extend_lock(self, job_id: str, worker: str, duration: timedelta) -> None:
        self.reports.append(("extend", job_id, duration))


def _job(retries: int | None = None, failures: int = 0, topic: str = "permit.issue") -> FetchedJob:
    return FetchedJob("job-1", topic, "inst-1", "issue_permit", None, retries, failures, failures + 1, None, {})


def _runner(settings: Settings, router: TaskRouter) -> tuple[WorkerRunner, RecordingBackend]:
    backend = RecordingBackend()
    return WorkerRunner(settings, [router], backend=backend, worker_id="w1"), backend


def test_failures_report_camunda_remaining_retries_and_the_policy_delay(settings: Settings) -> None:
    router = TaskRouter()

    @router.task("permit.issue", retry=RetryPolicy(retries=2, initial_delay=timedelta(seconds=5), backoff=2.0))
    def issue() -> None:
        raise ConnectionError("down")

    runner, backend = _runner(settings, router)
    for job in (_job(None, 0), _job(2, 1), _job(1, 2), _job(5, 2), _job(3, 0)):
        assert runner.process(job) == "failed"
    reports = [(r[3], r[4]) for r in backend.reports]
    assert reports == [
        (2, timedelta(seconds=5)),    # first failure keeps the policy's count: 2 retries = 3 runs
        (1, timedelta(seconds=10)),
        (0, timedelta(hours=1)),      # 0 left: the engine opens an incident (the delay is unused)
        (4, timedelta(hours=1)),      # a BPMN count beyond the policy waits max_delay
        (3, timedelta(seconds=5)),    # a BPMN-seeded job keeps its count at the first failure
    ]
    assert backend.reports[0][2] == "ConnectionError: down"


def test_the_default_policy_comes_from_the_workers_config(settings: Settings) -> None:
    router = TaskRouter()

    @router.task("permit.issue")
    def issue() -> None:
        raise ValueError("boom")

    runner, backend = _runner(settings, router)
    runner.process(_job())
    assert backend.reports[0][3:] == (settings.workers.retries, timedelta(seconds=settings.workers.retry_delay_seconds))


def test_outcomes_map_to_reports(settings: Settings) -> None:
    router = TaskRouter()

    @router.task("permit.issue")
    def issue(ctx: JobContext) -> dict[str, object]:
        ctx.extend_lock(timedelta(minutes=5))
        return {"permit_no": ctx.job_id}

    @router.task("permit.refuse")
    def refuse() -> None:
        raise BpmnError("blacklisted", "失信", {"why": "x"})

    @router.task("permit.weird")
    def weird() -> dict[str, object]:
        return {"when": object()}

    runner, backend = _runner(settings, router)
    assert runner.process(_job()) == "completed"
    assert runner.process(_job(topic="permit.refuse")) == "bpmn_error"
    assert runner.process(_job(topic="permit.weird")) == "failed"  # not JSON: reported as a failure
    assert runner.process(_job(topic="permit.unknown")) == "failed"
    assert backend.reports[:3] == [("extend", "job-1", timedelta(minutes=5)),
                                   ("complete", "job-1", {"permit_no": "job-1"}),
                                   ("bpmn_error", "job-1", "blacklisted", "失信", {"why": "x"})]
    assert backend.reports[3][0] == backend.reports[4][0] == "fail"
    assert "no handler for topic permit.unknown" in backend.reports[4][2]


def test_a_runner_serves_only_the_topics_asked_for(settings: Settings) -> None:
    router = TaskRouter()

    @router.task("permit.issue")
    def issue() -> None: ...

    @router.task("applicant.check")
    def check() -> None: ...

    backend = RecordingBackend()
    assert WorkerRunner(settings, [router], backend=backend, topics=["permit.*"]).topics == ["permit.issue"]
    with pytest.raises(ValueError, match="no handler serves the topics land"):
        WorkerRunner(settings, [router], backend=backend, topics=["land.*"])
