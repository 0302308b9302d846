"""The crash campaign's clients: clerks driving projects over HTTP while processes die, recording every command
the server acknowledged (a 2xx answer) so the checks can find each one in the history afterwards.

An answer that never arrived (connection refused or reset, timeout) or a 503 is an unknown outcome: the client
repeats the command. A repeated completion answers 200 or 409 (done by the first try, or by the deadline); a
repeated start may leave an unacknowledged instance behind, which the drain phase finishes. Any other status is
a finding.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

BLACKLISTED = "91150100MA0BLACK01"  # workers/permits.py refuses it: the BPMN error path
COMMAND_DEADLINE = 120.0  # seconds one command may take to get a definite answer across restarts


@dataclass(frozen=True)
class Ack:
    kind: str  # "start" | "complete"
    instance_id: str
    task_id: str | None
    data: dict[str, Any]  # the variables or form data the client sent
    business_key: str | None = None


class Unreachable(Exception):
    """No answer: the server is down, restarting, or died mid-request."""


@dataclass
class Ledger:
    acks: list[Ack] = field(default_factory=list)
    refused: int = 0  # 409: the task was no longer open (its deadline won, or an earlier unknown try did it)
    repeats: int = 0  # commands sent again after an unknown outcome
    busy: int = 0  # 503 answers (Retry-After honoured)
    findings: list[str] = field(default_factory=list)  # unexpected answers: each one is a bug
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, ack: Ack) -> None:
        with self.lock:
            self.acks.append(ack)

    def note(self, what: str, detail: str = "") -> None:
        with self.lock:
            if what == "refused":
                self.refused += 1
            elif what == "repeat":
                self.repeats += 1
            elif what == "busy":
                self.busy += 1
            else:
                self.findings.append(detail)


class Client:
    def __init__(self, base_url: str, token: str, ledger: Ledger) -> None:
        self.base_url, self.token, self.ledger = base_url, token, ledger

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any, dict[str, str]]:
        request = urllib.request.Request(
            self.base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None, dict(response.headers)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw) if raw else None
            except ValueError:
                answer = raw[:500].decode(errors="replace")
            return exc.code, answer, dict(exc.headers)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
            # HTTPException: the server died mid-answer (IncompleteRead, RemoteDisconnected): outcome unknown
            raise Unreachable(f"{method} {path}: {exc!r}") from exc

    def definite(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send until the answer is definite (anything but no answer or 503); repeats are counted."""
        deadline = time.monotonic() + COMMAND_DEADLINE
        first = True
        while True:
            if not first:
                self.ledger.note("repeat")
            first = False
            try:
                status, answer, headers = self.send(method, path, body)
            except Unreachable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)  # real time: the server is restarting
                continue
            if status == 503:
                self.ledger.note("busy")
                if "Retry-After" not in headers:
                    self.ledger.note("finding", f"503 without Retry-After on {method} {path}: {answer}")
                if time.monotonic() > deadline:
                    raise Unreachable(f"{method} {path}: still 503 after {COMMAND_DEADLINE}s")
                time.sleep(min(float(headers.get("Retry-After", 1)), 1.0))
                continue
            return status, answer


APPROVE = {"decision": "approve", "opinion": "符合要求"}
REJECT = {"decision": "reject", "opinion": "材料不全"}


class Driver:
    """Clerks on `threads` threads starting and working projects until `stop` is set."""

    def __init__(self, client: Client, seed: int, *, timer_share: float = 0.35) -> None:
        self.client, self.seed, self.timer_share = client, seed, timer_share
        self.stop = threading.Event()
        self._numbers = iter(range(1, 10**9))
        self._lock = threading.Lock()
        self.projects = 0

    def _next(self) -> int:
        with self._lock:
            self.projects += 1
            return next(self._numbers)

    def run(self, threads: int) -> list[threading.Thread]:
        workers = [threading.Thread(target=self._loop, args=(i,), name=f"clerk-{i}", daemon=True)
                   for i in range(threads)]
        for t in workers:
            t.start()
        return workers

    def _loop(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        while not self.stop.is_set():
            n = self._next()
            try:
                if rng.random() < self.timer_share:
                    self.deadline_project(n, rng)
                else:
                    self.sample_project(n, rng)
            except Unreachable as exc:
                self.client.ledger.note("finding", f"project {n}: no answer within {COMMAND_DEADLINE}s: {exc}")
            except Exception as exc:  # noqa: BLE001 (a client bug must fail the campaign, not end a thread quietly)
                self.client.ledger.note("finding", f"project {n}: the client failed: {exc!r}")

    # -- one project ---------------------------------------------------------------------------------------------

    def _start(self, key: str, variables: dict[str, Any], business_key: str) -> str | None:
        body = {"variables": variables, "businessKey": business_key}
        status, answer = self.client.definite("POST", f"/api/process-definitions/key/{key}/start", body)
        if status not in (200, 201):
            self.client.ledger.note("finding", f"start {key}: HTTP {status} {answer}")
            return None
        self.client.ledger.ack(Ack("start", answer["id"], None, variables, business_key))
        return str(answer["id"])

    def _open_tasks(self, instance_id: str) -> list[dict[str, Any]]:
        status, answer = self.client.definite("GET", f"/api/tasks?processInstanceId={instance_id}&status=open")
        if status != 200:
            self.client.ledger.note("finding", f"list tasks: HTTP {status} {answer}")
            return []
        return list(answer["items"])

    def complete(self, instance_id: str, task_id: str, data: dict[str, Any]) -> None:
        status, answer = self.client.definite("POST", f"/api/tasks/{task_id}/complete", {"variables": data})
        if status == 200:
            self.client.ledger.ack(Ack("complete", instance_id, task_id, data))
        elif status == 409:
            self.client.ledger.note("refused")
        else:
            self.client.ledger.note("finding", f"complete {task_id}: HTTP {status} {answer}")

    def sample_project(self, n: int, rng: random.Random) -> None:
        variables = {"project": f"崩溃测试项目{n}", "applicant_code": BLACKLISTED if rng.random() < 0.15 else ""}
        instance_id = self._start("sample_review", variables, f"CRASH-S-{self.seed}-{n}")
        if instance_id is None:
            return
        for task in self._open_tasks(instance_id):
            self.complete(instance_id, task["id"], REJECT if rng.random() < 0.05 else APPROVE)

    def deadline_project(self, n: int, rng: random.Random) -> None:
        instance_id = self._start("crash_deadline", {"project": f"限时项目{n}"}, f"CRASH-D-{self.seed}-{n}")
        if instance_id is None:
            return
        self.stop.wait(rng.uniform(0.0, 4.5))  # the PT3S deadline races the clerk
        for task in self._open_tasks(instance_id):
            self.complete(instance_id, task["id"], APPROVE)
