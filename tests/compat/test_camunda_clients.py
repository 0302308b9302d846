"""Acceptance (issue 12): unmodified Camunda clients written by others drive a live `approvals serve`.

- the PyPI package camunda-external-task-client-python3 (pinned in the `test` extra), with a bearer token;
- the npm package camunda-external-task-client-js (pinned in tests/compat/node/package-lock.json, installed here
  with `npm ci` from the npm registry), with HTTP Basic.
Each subscribes, completes with typed variables, reports failures with Camunda's retry rule (the job comes back
after retryTimeout; at 0 retries an incident opens) and throws a BPMN error that the boundary on that task catches.
Then the Camunda Modeler diagram tests/data/camunda/camunda_permit.bpmn is deployed through
POST /engine-rest/deployment/create and runs to the end with both clients as workers and clerks working through
/engine-rest/task. Real processes, a temporary SQLite database, a free loopback port; waits poll with deadlines.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from engine.app_state import build_state
from engine.auth import accounts, tokens
from engine.bpmn.lint import load_departments
from engine.config import load_settings
from engine.db import Base
from engine.services.commands import run_command
from tests.conftest import DATA, HMAC_KEY, ROOT, TEST_PASSWORD

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
CAMUNDA = DATA / "camunda"
# name -> (roles, departments, password?, token?)
ACCOUNTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, bool]] = {
    "d.designer": (("designer",), (), True, False), "window": (("clerk",), ("window",), True, True),
    "wang.nrp": (("clerk",), ("nrp",), True, True), "auditor": (("auditor",), (), True, True),
    "py-bot": (("worker",), (), False, True), "js-bot": (("worker",), (), True, False)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def node_client() -> Path:
    """`npm ci` of the committed lock file into tests/compat/node (node_modules is git-ignored); once."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.fail("Node.js and npm are needed for the Camunda JS client acceptance test", pytrace=False)
    if not (NODE_DIR / "node_modules" / "camunda-external-task-client-js" / "package.json").exists():
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False)
    return NODE_DIR


class Engine:
    """`approvals serve` on a fresh SQLite database with Camunda-style accounts, plus HTTP helpers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.port = tmp, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rest = f"{self.url}/engine-rest"
        config = tmp / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp}/engine.sqlite3"\nsqlite_synchronous = "NORMAL"\n'
            f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{CAMUNDA / "forms"}"\nvar = "{tmp / "var"}"\n'
            f'[server]\nport = {self.port}\nthreads = 8\n[scheduler]\nenabled = true\ntick_seconds = 1\n'
            f'[workers]\nenabled = false\nlong_poll_seconds = 2\npoll_interval_seconds = 0.1\n', encoding="utf-8")
        self.env = {**os.environ, "APPROVALS_CONFIG": str(config), "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY,
                    "APPROVALS_SECURITY__SECRET_KEY": "compat-test-secret-0123456789"}
        self.tokens: dict[str, str] = {}
        self._accounts(load_settings(config, environ=self.env))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _accounts(self, settings: Any) -> None:
        state = build_state(settings)
        Base.metadata.create_all(state.db_engine)
        known = load_departments(ROOT / "processes" / "departments.toml")
        now = datetime.now().astimezone()
        for name, (roles, departments, password, token) in ACCOUNTS.items():
            run_command(state.sessions, lambda s: accounts.create_user(
                s, state.ctx, name, display_name=None, roles=roles, departments=departments,
                password=TEST_PASSWORD if password else None, known_departments=known, actor="test", now=now))
            if token:
                self.tokens[name] = run_command(state.sessions, lambda s: tokens.issue(
                    s, state.ctx, name, name="compat", days=1, actor="test", now=now)).secret
        state.db_engine.dispose()

    def spawn(self, name: str, argv: list[str], cwd: Path = ROOT) -> None:
        with (self.tmp / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(argv, env=self.env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
                         for p in sorted(self.tmp.glob("*.log")))

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                result = check()
                if result:
                    return result
            except requests.ConnectionError:
                pass
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                pytest.fail(f"{', '.join(dead)} exited while waiting for {what}\n{self.logs()}")
            time.sleep(0.1)  # several processes: poll real time with a deadline
        pytest.fail(f"timed out waiting for {what}\n{self.logs()}")

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> requests.Response:
        base = self.url if path.startswith("/api") else self.rest
        return requests.request(method, base + path, headers=self.bearer(who), timeout=30, **kwargs)

    def start(self, key: str, variables: dict[str, Any]) -> str:
        response = self.call("POST", f"/process-definition/key/{key}/start", "window", json={"variables": variables})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def ended(self, instance_id: str) -> bool:
        return self.call("GET", f"/process-instance/{instance_id}", "window").status_code == 404

    def events(self, instance_id: str) -> list[dict[str, Any]]:
        response = self.call("GET", f"/api/history/process-instances/{instance_id}/events?limit=200", "auditor")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def variables(self, instance_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/process-instances/{instance_id}", "auditor").json()["variables"])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = Engine(tmp_path_factory.mktemp("camunda_compat"))
    engine.spawn("serve", [sys.executable, "-m", "engine", "serve", "--port", str(engine.port)])
    try:
        engine.wait_for("the server", lambda: requests.get(engine.url + "/api/health", timeout=2).ok)
        modeler_deploy = requests.post(
            f"{engine.rest}/deployment/create", auth=("d.designer", TEST_PASSWORD), timeout=30,
            data={"deployment-name": "compat", "deployment-source": "Camunda Modeler", "deploy-changed-only": "true"},
            files=[(p.name, (p.name, p.read_bytes(), "text/xml")) for p in
                   (CAMUNDA / "camunda_client_check.bpmn", CAMUNDA / "camunda_permit.bpmn")])
        assert modeler_deploy.status_code == 200, modeler_deploy.text
        assert {d["key"] for d in modeler_deploy.json()["deployedProcessDefinitions"].values()} == {
            "camunda_client_check", "camunda_permit"}
        yield engine
    finally:
        for name in list(engine.procs):
            engine.stop(name)


def _check_worker_outcomes(engine: Engine, who: str, start: Callable[[str], str]) -> None:
    done, failing, rejected = start("complete"), start("fail"), start("reject")

    engine.wait_for("the completed instance to end", lambda: engine.ended(done))
    result = engine.variables(done)
    assert (result["result"], result["label"], result["details"]) == (42, who, {"ok": True, "by": who})
    if who == "js":  # the JS client types a JS Date as `date`: stored in Camunda's format, read back as Date
        assert result["checked_on"] == "2026-03-02T01:00:00.000+0000"

    engine.wait_for("the incident after the last retry", lambda: engine.call(
        "GET", f"/api/incidents?processInstanceId={failing}", "auditor").json()["items"])
    failures = [e for e in engine.events(failing) if e["kind"] == "job:failed"]
    assert [f["payload"]["retries"] for f in failures] == [1, 0]  # the client's rule: max_retries, then one less
    first_retry_at = datetime.fromisoformat(failures[0]["payload"]["retry_at"].replace("Z", "+00:00"))
    second_at = datetime.fromisoformat(failures[1]["at"].replace("Z", "+00:00"))
    assert second_at >= first_retry_at  # the job came back only after retryTimeout
    assert failures[1]["payload"]["attempt"] == 2 and failures[0]["payload"]["error_message"] == who_says(who)
    assert not engine.ended(failing)
    waiting = engine.call("GET", f"/external-task?noRetriesLeft=true&processInstanceId={failing}", "py-bot").json()
    assert [(t["retries"], t["errorMessage"]) for t in waiting] == [(0, who_says(who))]

    engine.wait_for("the BPMN error to end the instance", lambda: engine.ended(rejected))
    caught = [e["payload"] for e in engine.events(rejected) if e["kind"] == "job:bpmn_error"]
    assert [(c["code"], c["caught_by"]) for c in caught] == [("REJECTED", "work_rejected")]
    assert engine.variables(rejected)["reason"] == f"{who}-reason"
    assert "refused" in {el for e in engine.events(rejected) if e["kind"] == "instance:advanced"
                         for el in e["payload"]["elements"]}


def who_says(who: str) -> str:
    return {"py": "python says no", "js": "js says no"}[who]


def test_python_client_subscribes_completes_fails_and_throws(engine: Engine) -> None:
    engine.spawn("python-worker", [sys.executable, str(HERE / "python_worker.py"), engine.rest,
                                   engine.tokens["py-bot"], "py-bot", "compat.work"])
    try:
        _check_worker_outcomes(engine, "py", lambda mode: engine.start(
            "camunda_client_check", {"mode": {"value": mode, "type": "String"}}))
    finally:
        engine.stop("python-worker")


def test_js_client_subscribes_completes_fails_and_throws(engine: Engine, node_client: Path) -> None:
    engine.spawn("js-worker", ["node", "worker.mjs", engine.rest, "js-bot", TEST_PASSWORD, "js-bot",
                               "compat.work"], cwd=node_client)
    try:
        _check_worker_outcomes(engine, "js", lambda mode: engine.start(
            "camunda_client_check", {"mode": {"value": mode, "type": "String"}}))
        after = engine.start("camunda_client_check", {"mode": {"value": "complete"}})  # untyped, as Modeler sends
        engine.wait_for("the worker to go on after an incident", lambda: engine.ended(after))
    finally:
        engine.stop("js-worker")


def _work_user_task(engine: Engine, instance_id: str, who: str, group: str,
                    variables: dict[str, Any]) -> dict[str, Any]:
    task = engine.wait_for(f"a {group} task of {instance_id}", lambda: engine.call(
        "GET", f"/task?processInstanceId={instance_id}&candidateGroup={group}", who).json())[0]
    if task["assignee"] is None:
        assert engine.call("POST", f"/task/{task['id']}/claim", who, json={"userId": who}).status_code == 204
    response = engine.call("POST", f"/task/{task['id']}/complete", who, json={"variables": variables})
    assert response.status_code == 204, response.text
    return dict(task)


def test_the_modeler_diagram_runs_to_the_end_with_both_clients(engine: Engine, node_client: Path) -> None:
    engine.spawn("python-worker", [sys.executable, str(HERE / "python_worker.py"), engine.rest,
                                   engine.tokens["py-bot"], "py-bot", "permit.score"])
    engine.spawn("js-worker", ["node", "worker.mjs", engine.rest, "js-bot", TEST_PASSWORD, "js-bot",
                               "permit.issue_camunda"], cwd=node_client)
    try:
        large, small = engine.start("camunda_permit", {}), engine.start("camunda_permit", {})
        intake = _work_user_task(engine, large, "window", "window", {
            "amount": {"value": 5000, "type": "Integer"}, "region": {"value": "A", "type": "String"}})
        assert intake["formKey"] == "camunda_intake" and intake["taskDefinitionKey"] == "intake"
        _work_user_task(engine, small, "window", "window", {"amount": {"value": 10, "type": "Integer"},
                                                            "region": {"value": "B", "type": "String"}})
        # ${amount > 1000 && region == 'A'}: the large one waits for wang.nrp (camunda:assignee) after scoring.
        review = _work_user_task(engine, large, "wang.nrp", "nrp", {"approved": {"value": True, "type": "Boolean"},
                                                                     "comment": {"value": "同意"}})
        assert (review["assignee"], review["formKey"]) == ("wang.nrp", "camunda_review")
        for instance_id in (large, small):
            engine.wait_for(f"{instance_id} to end", lambda i=instance_id: engine.ended(i))
            variables = engine.variables(instance_id)
            assert variables["score"] == 87 and variables["permit_no"].startswith("JS-")
        paths = {i: {el for e in engine.events(i) if e["kind"] == "instance:advanced" for el in e["payload"]["elements"]}
                 for i in (large, small)}
        assert {"review", "gw_approved", "end_issued"} <= paths[large] and "cool_off" not in paths[large]
        assert {"cool_off", "end_issued"} <= paths[small] and "review" not in paths[small]
        assert any(e["kind"] == "timer:fired" for e in engine.events(small))  # the bare ISO PT1S timer
    finally:
        engine.stop("python-worker")
        engine.stop("js-worker")
