"""Shared pieces of the bench/ scripts: an engine on a fresh database, generated BPMN, commands, medians.

Not a test helper: nothing here runs in CI. Every figure a script prints is measured in the same run as its
baseline (bench/stock_spiff.py runs stock SpiffWorkflow in its own interpreter).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.app_state import AppState, build_state
from engine.config import load_settings
from engine.db import Base
from engine.services import deployments, human_tasks, instances
from engine.services.commands import run_command

ROOT = Path(__file__).resolve().parent.parent

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{pid}" targetNamespace="urn:bench:{pid}">
  <bpmn:process id="{pid}" isExecutable="true">
"""
_FOOTER = "  </bpmn:process>\n</bpmn:definitions>\n"


def _user_task(task_id: str, incoming: str, outgoing: str) -> str:
    return (f'    <bpmn:userTask id="{task_id}" name="{task_id}" camunda:candidateGroups="nrp">\n'
            f"      <bpmn:incoming>{incoming}</bpmn:incoming>\n      <bpmn:outgoing>{outgoing}</bpmn:outgoing>\n"
            f"    </bpmn:userTask>\n")


def _flow(flow_id: str, source: str, target: str) -> str:
    return f'    <bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />\n'


def fan_out_bpmn(branches: int) -> tuple[str, str]:
    """start -> fork -> `branches` parallel user tasks -> join -> end; returns (process id, XML)."""
    pid = f"fan_out_{branches}"
    parts = [_HEADER.format(pid=pid),
             ('    <bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing>'
              "</bpmn:startEvent>\n"),
             _flow("f_start", "start", "fork"),
             '    <bpmn:parallelGateway id="fork"><bpmn:incoming>f_start</bpmn:incoming>']
    parts += [f"<bpmn:outgoing>f_in_{i}</bpmn:outgoing>" for i in range(branches)]
    parts.append("</bpmn:parallelGateway>\n")
    for i in range(branches):
        parts += [_flow(f"f_in_{i}", "fork", f"review_{i}"), _user_task(f"review_{i}", f"f_in_{i}", f"f_out_{i}"),
                  _flow(f"f_out_{i}", f"review_{i}", "join")]
    parts.append('    <bpmn:parallelGateway id="join">')
    parts += [f"<bpmn:incoming>f_out_{i}</bpmn:incoming>" for i in range(branches)]
    parts += ["<bpmn:outgoing>f_end</bpmn:outgoing></bpmn:parallelGateway>\n", _flow("f_end", "join", "end"),
              '    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>\n', _FOOTER]
    return pid, "".join(parts)


def sequence_bpmn(tasks: int) -> tuple[str, str]:
    """start -> `tasks` user tasks one after the other -> end; returns (process id, XML)."""
    pid = f"sequence_{tasks}"
    parts = [_HEADER.format(pid=pid),
             '    <bpmn:startEvent id="start"><bpmn:outgoing>f_0</bpmn:outgoing></bpmn:startEvent>\n',
             _flow("f_0", "start", "step_1")]
    for i in range(1, tasks + 1):
        target = f"step_{i + 1}" if i < tasks else "end"
        parts += [_user_task(f"step_{i}", f"f_{i - 1}", f"f_{i}"), _flow(f"f_{i}", f"step_{i}", target)]
    parts += [f'    <bpmn:endEvent id="end"><bpmn:incoming>f_{tasks}</bpmn:incoming></bpmn:endEvent>\n', _FOOTER]
    return pid, "".join(parts)


def service_bpmn(topic: str) -> tuple[str, str]:
    """start -> one service task on `topic` (a worker job) -> end; returns (process id, XML)."""
    pid = "service_" + topic.replace(".", "_")
    header = _HEADER.format(pid=pid).replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ')
    return pid, "".join([
        header, '    <bpmn:startEvent id="start"><bpmn:outgoing>f_1</bpmn:outgoing></bpmn:startEvent>\n',
        _flow("f_1", "start", "call"),
        ('    <bpmn:serviceTask id="call" name="call"><bpmn:extensionElements>'
         f'<spiffworkflow:serviceTaskOperator id="{topic}" resultVariable="call_result">'
         "<spiffworkflow:parameters /></spiffworkflow:serviceTaskOperator>"
         "</bpmn:extensionElements><bpmn:incoming>f_1</bpmn:incoming><bpmn:outgoing>f_2</bpmn:outgoing>"
         "</bpmn:serviceTask>\n"),
        _flow("f_2", "call", "end"),
        '    <bpmn:endEvent id="end"><bpmn:incoming>f_2</bpmn:incoming></bpmn:endEvent>\n', _FOOTER])


def write(directory: Path, pid: str, xml: str) -> Path:
    path = directory / f"{pid}.bpmn"
    path.write_text(xml, encoding="utf-8")
    return path


def engine_state(url: str, var: Path, synchronous: str = "FULL") -> AppState:
    """An engine on `url` with a fresh schema; no scheduler or workers (the script drives every command)."""
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": url, "sqlite_synchronous": synchronous}, "audit": {"hmac_key": "bench-hmac-key"},
        "paths": {"var": str(var)}, "scheduler": {"enabled": False}, "workers": {"enabled": False}})
    state = build_state(settings)
    Base.metadata.create_all(state.db_engine)
    return state


def deploy(state: AppState, path: Path) -> None:
    run_command(state.sessions, lambda s: deployments.deploy_path(s, state.ctx, path, actor="bench",
                                                                  now=state.clock.now()))


def start(state: AppState, key: str) -> str:
    return run_command(state.sessions, lambda s: instances.start(s, state.ctx, key, {}, actor="bench",
                                                                 now=state.clock.now())).id


def open_tasks(state: AppState, instance_id: str) -> list[tuple[str, str]]:
    with state.sessions() as session:
        return [(t.id, t.bpmn_id) for t in human_tasks.list_tasks(session, instance_id=instance_id, limit=200)]


def complete(state: AppState, task_id: str, bpmn_id: str) -> None:
    run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task_id, {bpmn_id: "approve"},
                                                               actor="clerk", now=state.clock.now()))


def timed(fn: Callable[[], object]) -> float:
    """Wall milliseconds of one call."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def spread(values: Sequence[float], unit: str = "ms") -> str:
    return (f"median {statistics.median(values):8.2f} {unit}  min {min(values):8.2f}  max {max(values):8.2f}  "
            f"(n={len(values)})")


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), load average {os.getloadavg()[0]:.1f}"
