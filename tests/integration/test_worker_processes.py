"""The sample end to end across processes (embedded SQLite): `approvals serve` with its in-process worker, and
`approvals serve` plus a remote `approvals worker --url` authenticated with a worker token. Real processes,
short real durations, polling with deadlines; SIGTERM stops the worker gracefully."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import create_app
from engine.app_state import build_state
from engine.config import Settings, load_settings
from engine.db import Base
from engine.services import deployments
from engine.services.commands import run_command
from tests.conftest import HMAC_KEY, ROOT, Auth

APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求"}}
BLACKLISTED = "91150100MA0BLACK01"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Engine:
    """A server process on a fresh SQLite database, and helpers to drive it over HTTP."""

    def __init__(self, tmp_path: Path, *, embedded_workers: bool) -> None:
        self.tmp_path, self.port = tmp_path, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path}/engine.sqlite3"\nsqlite_synchronous = "NORMAL"\n'
            f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{ROOT / "forms"}"\nvar = "{tmp_path / "var"}"\n'
            f'[server]\nport = {self.port}\n[scheduler]\nenabled = false\n'
            f'[workers]\nenabled = {str(embedded_workers).lower()}\nlong_poll_seconds = 2\n'
            f'poll_interval_seconds = 0.2\n[security]\ndev_identity = true\n', encoding="utf-8")
        self.env = {**os.environ, "APPROVALS_CONFIG": str(self.config), "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY}
        self.settings: Settings = load_settings(self.config, environ=self.env)
        state = build_state(self.settings)
        Base.metadata.create_all(state.db_engine)
        run_command(state.sessions, lambda s: deployments.deploy_path(
            s, state.ctx, ROOT / "processes" / "sample_review.bpmn", actor="designer", now=state.clock.now()))
        state.db_engine.dispose()
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "engine", *args], env={**self.env, **(env or {})},
                                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp_path.glob("*.log")))

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.2)  # multi-process: poll real time with a deadline
        pytest.fail(f"timed out waiting for {what}\n{self.logs()}")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, actor: str = "tester") -> Any:
        request = urllib.request.Request(self.url + path, method=method, headers={
            "X-Actor": actor, "Content-Type": "application/json"},
            data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def serve(self) -> None:
        self.spawn("serve", "serve", "--port", str(self.port))
        self.wait_for("the server", lambda: self.call("GET", "/api/health")["status"] == "ok")

    def approved_instance(self, variables: dict[str, Any]) -> str:
        instance_id = self.call("POST", "/api/process-definitions/key/sample_review/start",
                                {"variables": variables})["id"]
        for task in self.call("GET", f"/api/tasks?processInstanceId={instance_id}")["items"]:
            self.call("POST", f"/api/tasks/{task['id']}/complete", APPROVE)
        return instance_id

    def instance(self, instance_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/process-instances/{instance_id}"))

    def stop(self) -> list[int]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=30))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def make(**kwargs: bool) -> Engine:
        engines.append(Engine(tmp_path, **kwargs))
        return engines[-1]

    yield make
    for engine in engines:
        engine.stop()


def _worker_token(engine: Engine) -> str:
    app = create_app(engine.settings)
    try:
        return Auth(app).token("permit-bot", "worker")
    finally:
        app.extensions["engine"].db_engine.dispose()


def test_the_sample_runs_with_a_remote_worker_over_http(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(embedded_workers=False)
    engine.serve()
    worker = engine.spawn("worker", "worker", "--url", engine.url, "--topics", "permit.*", "--worker-id", "remote-1",
                          env={"APPROVALS_WORKERS__TOKEN": _worker_token(engine)})
    issued = engine.approved_instance({"project": "远程发证"})
    refused = engine.approved_instance({"project": "失信", "applicant_code": BLACKLISTED})
    engine.wait_for("both instances to finish",
                    lambda: {engine.instance(i)["status"] for i in (issued, refused)} == {"completed"})
    assert engine.instance(issued)["variables"]["permit"]["permit_no"].startswith("呼建许-")
    assert engine.instance(refused)["variables"]["refusal"]["code"] == "blacklisted"
    jobs = engine.call("GET", "/api/external-tasks?status=completed")["items"]
    assert [(j["finished_by"], j["instance_id"]) for j in jobs] == [("remote-1", issued)]
    completed = [e for e in engine.call("GET", f"/api/history/process-instances/{issued}/events?limit=200")["items"]
                 if e["kind"] == "job:completed"]
    assert [e["actor"] for e in completed] == ["permit-bot"]  # the token's account, recorded in history

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    log = (engine.tmp_path / "worker.log").read_text()
    assert "serving permit.issue" in log and "remote-1 stopped" in log


def test_the_sample_runs_with_the_embedded_worker(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(embedded_workers=True)
    engine.serve()
    issued = engine.approved_instance({"project": "进程内发证"})
    engine.wait_for("the instance to finish", lambda: engine.instance(issued)["status"] == "completed")
    [job] = engine.call("GET", f"/api/external-tasks?processInstanceId={issued}")["items"]
    assert job["status"] == "completed" and job["finished_by"].startswith("embedded:")
    assert engine.stop() == [0]
