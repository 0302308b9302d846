"""Real engine processes for the crash campaign: a config file, the schema, deployed processes, accounts with
tokens, and named processes (server, scheduler, workers) that can be killed with SIGKILL and restarted.

Multi-process code: it polls real time with deadlines (DESIGN.md §6), never sleeps in the engine's place.
"""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import create_app
from engine.config import Settings, load_settings
from engine.db import Base
from engine.services import deployments
from engine.services.commands import run_command
from tests.conftest import DATA, HMAC_KEY, ROOT, Auth
from tests.reliability import effects

PROCESSES = (ROOT / "processes" / "sample_review.bpmn", DATA / "bpmn" / "crash_deadline.bpmn")
CLERK = "clerk-crash"  # a clerk of both sample departments; every client command is this account's
LOCK_SECONDS = 2.0  # short locks: a killed worker's job is redone within seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Role:
    """One named process: how to start it, and its current Popen."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    is_server: bool = False
    ready: str = ""  # a log line that says the process is up (waited for, so a kill or SIGTERM finds it running)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0


class Cluster:
    """A database (SQLite file or PostgreSQL URL) with the campaign's processes deployed and accounts made."""

    def __init__(self, tmp_path: Path, database_url: str, *, scheduler_in_server: bool) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "config.toml"
        self.effects_path = tmp_path / "effects.sqlite3"
        self.config.write_text(
            f'[database]\nurl = "{database_url}"\n'
            f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{ROOT / "forms"}"\nvar = "{tmp_path / "var"}"\n'
            f'[server]\nport = {self.port}\nthreads = 6\n'
            f'[scheduler]\nenabled = {str(scheduler_in_server).lower()}\ntick_seconds = 0.5\n'
            f'[workers]\nenabled = false\nlock_seconds = {LOCK_SECONDS}\nlong_poll_seconds = 1\n'
            f'poll_interval_seconds = 0.2\nretry_delay_seconds = 0.5\n'
            f'[notify]\nemail = "off"\nsms = "off"\n', encoding="utf-8")
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1",  # log lines reach the files as they happen
                    "APPROVALS_CONFIG": str(self.config), "APPROVALS_AUDIT__HMAC_KEY": HMAC_KEY,
                    "APPROVALS_SECURITY__SECRET_KEY": "crash-campaign-secret-0123456789"}
        self.settings: Settings = load_settings(self.config, environ=self.env)
        self.roles: dict[str, Role] = {}
        self.clerk_token = ""
        self.worker_token = ""

    # -- setup ---------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Schema, the two processes, a clerk and a worker account with tokens, the effect ledger."""
        app = create_app(self.settings)
        state = app.extensions["engine"]
        try:
            Base.metadata.create_all(state.db_engine)
            for path in PROCESSES:
                run_command(state.sessions, lambda s, p=path: deployments.deploy_path(
                    s, state.ctx, p, actor="designer", now=state.clock.now()))
            auth = Auth(app)
            self.clerk_token = auth.token(CLERK, "clerk", departments=["nrp", "hc"])
            self.worker_token = auth.token("permit-bot", "worker")
        finally:
            state.db_engine.dispose()
        effects.create(self.effects_path)

    # -- processes -----------------------------------------------------------------------------------------------

    def add_server(self, name: str = "server") -> None:
        self.roles[name] = Role(name, ["-m", "engine", "serve", "--port", str(self.port)], is_server=True)

    def add_scheduler(self, name: str = "scheduler") -> None:
        self.roles[name] = Role(name, ["-m", "engine", "scheduler"], ready="timer scheduler running")

    def add_worker(self, name: str, *, remote: bool, fail_first: float = 0.0, seed: int = 0) -> None:
        argv = ["-m", "tests.reliability.effect_worker", "--effects", str(self.effects_path), "--worker-id", name,
                "--fail-first", str(fail_first), "--seed", str(seed)]
        if remote:
            argv += ["--url", self.url]
        self.roles[name] = Role(name, argv, env={"APPROVALS_WORKERS__TOKEN": self.worker_token},
                                ready=f"worker {name} serving topics")

    def start(self, name: str) -> None:
        role = self.roles[name]
        with (self.tmp_path / f"{name}.log").open("ab") as log:
            log.write(f"\n=== start #{role.starts + 1}\n".encode())
            log.flush()
            role.proc = subprocess.Popen([sys.executable, *role.argv], env={**self.env, **role.env}, cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT)
        role.starts += 1
        if role.is_server:
            self.wait_for(f"{name} to answer", self.healthy)
        elif role.ready:
            log_path, marker = self.tmp_path / f"{name}.log", role.ready
            self.wait_for(f"{name} to start", lambda: marker in log_path.read_text(errors="replace")
                          .rsplit(f"=== start #{role.starts}", 1)[-1])

    def start_all(self) -> None:
        for name in self.roles:
            self.start(name)

    def kill(self, name: str) -> None:
        """SIGKILL: no handler runs, nothing is flushed, locks are left behind."""
        proc = self.roles[name].proc
        assert proc is not None
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every process (graceful), then wait; returns the exit codes."""
        running = [r for r in self.roles.values() if r.proc is not None and r.proc.poll() is None]
        for role in running:
            assert role.proc is not None
            role.proc.send_signal(signal.SIGTERM)
        codes = {}
        for role in running:
            assert role.proc is not None
            try:
                codes[role.name] = role.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                role.proc.kill()
                codes[role.name] = role.proc.wait()
        return codes

    def kill_all(self) -> None:
        """After a failure: leave no process behind."""
        for role in self.roles.values():
            if role.proc is not None and role.proc.poll() is None:
                role.proc.kill()
                role.proc.wait(timeout=30)

    def dead(self) -> list[str]:
        """Processes that exited on their own (not killed by the campaign)."""
        return [r.name for r in self.roles.values() if r.proc is not None and r.proc.poll() is not None]

    # -- observing -----------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/api/health", timeout=5) as response:
                return bool(json.loads(response.read()).get("status") == "ok")
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return False

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
                         for p in sorted(self.tmp_path.glob("*.log")))

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)  # multi-process: poll real time with a deadline
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`approvals ARGS` on this cluster's database (e.g. replay --all --verify, audit verify)."""
        return subprocess.run([sys.executable, "-m", "engine", *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=600, check=False)
