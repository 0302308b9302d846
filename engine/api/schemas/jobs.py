"""External tasks (service jobs) and incidents. Durations are milliseconds, as in Camunda's external-task API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.api.schemas.base import Body, Int, Name, Out, PageQuery, Timestamp, int_between

MAX_LOCK_MS = 24 * 3600 * 1000  # services.jobs.MAX_LOCK
MAX_RETRY_TIMEOUT_MS = 366 * 24 * 3600 * 1000
MAX_RETRIES = 1000


def _worker_field() -> Any:
    return Field(alias="workerId", min_length=1, max_length=200, pattern=r"\S", description="the worker's id")


JobStatus = Literal["available", "locked", "completed", "bpmn_error", "incident", "cancelled"]


class JobQuery(PageQuery):
    topic_name: Name | None = Field(None, alias="topicName")
    process_instance_id: Name | None = Field(None, alias="processInstanceId")
    status: JobStatus | None = None


class TopicIn(Body):
    topic_name: str = Field(alias="topicName", min_length=1, max_length=200, pattern=r"\S",
                            description="a topic, or a pattern with `*` (e.g. `permit.*`)")
    lock_duration: Int = Field(alias="lockDuration", ge=1, le=MAX_LOCK_MS, description="milliseconds")


class FetchAndLockIn(Body):
    worker_id: str = _worker_field()
    max_tasks: Int = Field(1, alias="maxTasks", ge=1, le=100)
    topics: list[TopicIn] = Field(min_length=1, max_length=100)
    async_response_timeout: Int = Field(0, alias="asyncResponseTimeout", ge=0, le=30 * 60 * 1000,
                                        description="wait up to this many ms for a job (capped by the server)")


class CompleteJobIn(Body):
    worker_id: str = _worker_field()
    variables: dict[str, Any] | None = None


class FailureIn(Body):
    worker_id: str = _worker_field()
    error_message: str = Field(alias="errorMessage", min_length=1, pattern=r"\S", max_length=64 * 1024)
    error_details: str | None = Field(None, alias="errorDetails", max_length=1024 * 1024)
    retries: int_between(0, MAX_RETRIES) | None = Field(
        None, description="remaining retries; 0 opens an incident")
    retry_timeout: int_between(0, MAX_RETRY_TIMEOUT_MS) | None = Field(
        None, alias="retryTimeout", description="ms until the job may be claimed again")


class BpmnErrorIn(Body):
    worker_id: str = _worker_field()
    error_code: str = Field(alias="errorCode", min_length=1, max_length=200, pattern=r"\S")
    error_message: str = Field("", alias="errorMessage", max_length=64 * 1024)
    variables: dict[str, Any] | None = None


class ExtendLockIn(Body):
    worker_id: str = _worker_field()
    new_duration: Int = Field(alias="newDuration", ge=1, le=MAX_LOCK_MS, description="milliseconds from now")


class Job(Out):
    id: str
    instance_id: str
    process_key: str | None
    business_key: str | None
    bpmn_id: str
    topic: str
    status: str = Field(description="available | locked | completed | bpmn_error | incident | cancelled")
    priority: int
    retries: int | None
    failures: int
    attempts: int
    lock_owner: str | None
    lock_expires_at: Timestamp | None
    run_after: Timestamp | None
    error_message: str | None
    created_at: Timestamp | None
    finished_at: Timestamp | None
    finished_by: str | None


class LockedJob(Job):
    variables: dict[str, Any] = Field(description="the job's input (only for the worker that locked it)")


class LockedJobs(Out):
    items: list[LockedJob]


class JobPage(Out):
    items: list[Job]
    offset: int
    limit: int


class IncidentQuery(PageQuery):
    status: Literal["open", "resolved", "all"] = "open"
    process_instance_id: Name | None = Field(None, alias="processInstanceId")


class RetryIn(Body):
    retries: Int = Field(1, ge=1, le=MAX_RETRIES, description="remaining retries the job gets")


class Incident(Out):
    id: str
    instance_id: str
    job_id: str | None
    kind: str = Field(description="failed_job | unhandled_bpmn_error")
    bpmn_id: str
    message: str
    status: str = Field(description="open | resolved")
    created_at: Timestamp | None
    resolved_at: Timestamp | None
    resolved_by: str | None


class IncidentPage(Out):
    items: list[Incident]
    offset: int
    limit: int
