"""How a runner talks to the engine: in process through the services (`LocalBackend`), or over HTTP to
`/api/external-tasks` (`HttpBackend`). Both give the runner the same five calls."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from engine.app_state import AppState
from engine.dto import JobOut
from engine.errors import Conflict, NotFound


@dataclass(frozen=True)
class TopicLock:
    topic: str
    lock_duration: timedelta


@dataclass(frozen=True)
class FetchedJob:
    id: str
    topic: str
    instance_id: str
    bpmn_id: str
    business_key: str | None
    retries: int | None
    failures: int
    attempts: int
    lock_expires_at: datetime | None
    variables: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FetchedJob:
        expires = data.get("lock_expires_at")
        return cls(data["id"], data["topic"], data["instance_id"], data["bpmn_id"], data.get("business_key"),
                   data.get("retries"), int(data.get("failures") or 0), int(data.get("attempts") or 1),
                   datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
                   dict(data.get("variables") or {}))


    @classmethod
    def from_out(cls, job: JobOut) -> FetchedJob:
        """In process: the claim's JobOut as `from_json(job.to_json())` would give it, without the JSON round trip
        (`asdict` deep-copies the variables)."""
        expires = job.lock_expires_at
        return cls(job.id, job.topic, job.instance_id, job.bpmn_id, job.business_key, job.retries,
                   int(job.failures or 0), int(job.attempts or 1),
                   datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
                   dict(job.variables or {}))


class ReportRejected(Exception):
    """The engine refused a report because the job is no longer ours (409/404): someone else has it, or its
    task was cancelled. Nothing to retry."""


class EngineUnavailable(Exception):
    """The engine could not be reached or was busy; the call may be repeated."""


class Backend(Protocol):
    def fetch(self, worker: str, topics: Sequence[TopicLock], max_jobs: int, wait: float,
              interrupt: threading.Event | None = None) -> list[FetchedJob]: ...

    def complete(self, job_id: str, worker: str, variables: dict[str, Any]) -> None: ...

    def fail(self, job_id: str, worker: str, message: str, details: str | None, retries: int,
             retry_delay: timedelta) -> None: ...

    def bpmn_error(self, job_id: str, worker: str, code: str, message: str, variables: dict[str, Any]) -> None: ...

    def extend_lock(self, job_id: str, worker: str, duration: timedelta) -> None: ...


class LocalBackend:
    """In process: each call is a service command in its own transaction (embedded mode, tests, benchmarks)."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def _command(self, fn: Callable[[Any], Any]) -> Any:
        from engine.errors import Busy
        from engine.services.commands import run_command

        try:
            return run_command(self.state.sessions, fn)
        except (Conflict, NotFound) as exc:
            raise ReportRejected(exc.detail) from exc
        except Busy as exc:
            raise EngineUnavailable(exc.detail) from exc

    def fetch(self, worker: str, topics: Sequence[TopicLock], max_jobs: int, wait: float,
              interrupt: threading.Event | None = None) -> list[FetchedJob]:
        from engine.errors import Busy
        from engine.services.job_polling import fetch_and_lock
        from engine.services.jobs import TopicRequest

        state = self.state
        try:
            jobs = fetch_and_lock(state.sessions, state.ctx, state.clock.now,
                                  [TopicRequest(t.topic, t.lock_duration) for t in topics], worker=worker,
                                  max_jobs=max_jobs, wait=wait,
                                  poll_interval=state.settings.workers.poll_interval_seconds, interrupt=interrupt)
        except Busy as exc:
            raise EngineUnavailable(exc.detail) from exc
        return [FetchedJob.from_out(j) for j in jobs]

    def complete(self, job_id: str, worker: str, variables: dict[str, Any]) -> None:
        from engine.services import jobs

        state = self.state
        self._command(lambda s: jobs.complete(s, state.ctx, job_id, variables, worker=worker, actor=worker,
                                              now=state.clock.now()))

    def fail(self, job_id: str, worker: str, message: str, details: str | None, retries: int,
             retry_delay: timedelta) -> None:
        from engine.services import jobs

        state = self.state
        self._command(lambda s: jobs.fail(s, state.ctx, job_id, worker=worker, actor=worker, now=state.clock.now(),
                                          error_message=message, error_details=details, retries=retries,
                                          retry_delay=retry_delay))

    def bpmn_error(self, job_id: str, worker: str, code: str, message: str, variables: dict[str, Any]) -> None:
        from engine.services import jobs

        state = self.state
        self._command(lambda s: jobs.bpmn_error(s, state.ctx, job_id, code, message=message, variables=variables,
                                                worker=worker, actor=worker, now=state.clock.now()))

    def extend_lock(self, job_id: str, worker: str, duration: timedelta) -> None:
        from engine.services import jobs

        state = self.state
        self._command(lambda s: jobs.extend_lock(s, job_id, worker=worker, duration=duration,
                                                 now=state.clock.now()))


# (method, path, JSON body, headers, timeout seconds) -> (status, parsed JSON body or None)
Transport = Callable[[str, str, dict[str, Any] | None, dict[str, str], float], tuple[int, Any]]


def urllib_transport(base_url: str) -> Transport:
    base = base_url.rstrip("/")

    def send(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str],
             timeout: float) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https URL)
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw) if raw else None
            except ValueError:
                return exc.code, None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise EngineUnavailable(f"{method} {base}{path}: {exc}") from exc

    return send


class HttpBackend:
    """Over HTTP to a server's `/api/external-tasks` (remote workers). Authenticates with a bearer token when
    one is configured, else with the development identity (`X-Actor` = the worker id)."""

    def __init__(self, base_url: str, *, token: str = "", transport: Transport | None = None,
                 request_timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"--url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url
        self.token = token
        self.transport = transport or urllib_transport(base_url)
        self.request_timeout = request_timeout

    def _headers(self, worker: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {"X-Actor": worker}

    def _post(self, path: str, body: dict[str, Any], worker: str, timeout: float | None = None) -> Any:
        status, answer = self.transport("POST", path, body, self._headers(worker), timeout or self.request_timeout)
        if 200 <= status < 300:
            return answer
        detail = (answer or {}).get("detail") if isinstance(answer, dict) else None
        if status in (404, 409):
            raise ReportRejected(detail or f"HTTP {status}")
        if status in (401, 403):
            raise PermissionError(f"the engine refused this worker (HTTP {status}): {detail}")
        if status == 429 or status >= 500:
            raise EngineUnavailable(f"HTTP {status}: {detail}")
        raise ValueError(f"POST {path} was refused (HTTP {status}): {detail}")

    def fetch(self, worker: str, topics: Sequence[TopicLock], max_jobs: int, wait: float,
              interrupt: threading.Event | None = None) -> list[FetchedJob]:
        body = {"workerId": worker, "maxTasks": max_jobs, "asyncResponseTimeout": int(wait * 1000),
                "topics": [{"topicName": t.topic, "lockDuration": int(t.lock_duration.total_seconds() * 1000)}
                           for t in topics]}
        answer = self._post("/api/external-tasks/fetch-and-lock", body, worker, timeout=wait + self.request_timeout)
        return [FetchedJob.from_json(item) for item in (answer or {}).get("items", [])]

    def complete(self, job_id: str, worker: str, variables: dict[str, Any]) -> None:
        self._post(f"/api/external-tasks/{job_id}/complete", {"workerId": worker, "variables": variables}, worker)

    def fail(self, job_id: str, worker: str, message: str, details: str | None, retries: int,
             retry_delay: timedelta) -> None:
        self._post(f"/api/external-tasks/{job_id}/failure",
                   {"workerId": worker, "errorMessage": message, "errorDetails": details, "retries": retries,
                    "retryTimeout": int(retry_delay.total_seconds() * 1000)}, worker)

    def bpmn_error(self, job_id: str, worker: str, code: str, message: str, variables: dict[str, Any]) -> None:
        self._post(f"/api/external-tasks/{job_id}/bpmn-error",
                   {"workerId": worker, "errorCode": code, "errorMessage": message, "variables": variables}, worker)

    def extend_lock(self, job_id: str, worker: str, duration: timedelta) -> None:
        self._post(f"/api/external-tasks/{job_id}/extend-lock",
                   {"workerId": worker, "newDuration": int(duration.total_seconds() * 1000)}, worker)
