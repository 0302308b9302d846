"""A simulation split across processes: each runs the projects of its share of the applicants on its own database
file, and the figures are combined from all of them.

Why it is the same run: every choice a project makes comes from its own generator (behaviour.py), every command
of the loop works on one instance, and what one project can see of another goes through its applicant (a profile
entered once, a blacklist entry): so the applicants are split, never their projects, in shares of about equal
work (`behaviour.split_by_applicant`: one process per share, and the run takes as long as the largest). A
process's clock jumps only to its own projects' events, and each project's events come at the same moments as in
one process; the figures are read at the moment the last process ended (`collect`'s `now`), as one process would.
tests/simulation/test_shards.py compares the figures and every answer's moment with a one-process run.

One process (`processes=1`) runs in this process, as before; more are spawned (nothing inherited: no open
database connection or lock crosses a fork) and report their progress and figures on a queue.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config import Settings
from engine.simulation.behaviour import draw_projects
from engine.simulation.figures import Figures, Gathered, combine, gather
from engine.simulation.runner import DATABASE, Counters, Simulation, SimulationConfig

PROJECTS_PER_PROCESS = 100  # below this a process costs more to start (~1-2 s of imports) than it saves


class ShardFailed(RuntimeError):
    """A simulation process failed; the message holds its traceback."""


@dataclass
class Outcome:
    figures: Figures
    counters: Counters
    databases: list[Path] = field(default_factory=list)


def default_processes(projects: int) -> int:
    """One process per available CPU, each with at least PROJECTS_PER_PROCESS projects."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, projects // PROJECTS_PER_PROCESS))


def run(base: Settings, config: SimulationConfig, directory: Path, processes: int, *,
        progress: Callable[[int], None] | None = None) -> Outcome:
    """Run `config` in `processes` processes, each on a database under `directory`; the combined figures."""
    if processes <= 1:
        simulation = Simulation(base, replace(config, directory=directory), progress=progress)
        try:
            simulation.run()
            part = _gather(simulation, simulation.clock.now())
        finally:
            simulation.close()
        return _outcome([part], [simulation.counters], config, [directory / DATABASE])
    return _run_processes(base, config, directory, processes, progress)


def _gather(simulation: Simulation, now: datetime) -> Gathered:
    with simulation.state.sessions() as session:
        return gather(session, simulation.state.ctx, simulation.projects, now=now)


def _outcome(parts: list[Gathered], counters: list[Counters], config: SimulationConfig,
             databases: list[Path]) -> Outcome:
    projects, _pool = draw_projects(config.projects, config.kind, config.seed, config.rates, config.arrival_span_wd)
    total = Counters()
    for c in counters:
        total.commands += c.commands
        total.jobs += c.jobs
        total.timers += c.timers
        total.stale_answers += c.stale_answers
    return Outcome(combine(parts, projects, kind=config.kind, seed=config.seed), total, databases)


def _run_processes(base: Settings, config: SimulationConfig, directory: Path, processes: int,
                   progress: Callable[[int], None] | None) -> Outcome:
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    ends = [context.Queue() for _ in range(processes)]
    directories = [directory / f"shard-{shard + 1}" for shard in range(processes)]
    children = [context.Process(target=_shard_main, name=f"simulate-shard-{shard + 1}", daemon=True,
                                args=(base, replace(config, directory=directories[shard], shard=shard,
                                                    shards=processes), messages, ends[shard]))
                for shard in range(processes)]
    for child in children:
        child.start()
    try:
        ran: dict[int, datetime] = {}
        parts: dict[int, tuple[Gathered, Counters]] = {}
        while len(parts) < processes:
            kind, shard, value = _next_message(messages, children)
            if kind == "progress":
                if progress:
                    progress(value)
            elif kind == "ran":
                ran[shard] = value
                if len(ran) == processes:  # every process stopped: the run's last moment is the latest of them
                    for end in ends:
                        end.put(max(ran.values()))
            elif kind == "done":
                parts[shard] = value
            else:
                raise ShardFailed(f"simulation process {shard + 1} failed:\n{value}")
        for child in children:
            child.join()
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join()
    ordered = [parts[shard] for shard in range(processes)]
    return _outcome([p for p, _ in ordered], [c for _, c in ordered], config,
                    [d / DATABASE for d in directories])


def _next_message(messages: Any, children: list[Any]) -> tuple[str, int, Any]:
    """The next message, or a failure if a process died without saying why (killed, out of memory)."""
    while True:
        try:
            return messages.get(timeout=1.0)
        except queue.Empty:
            for shard, child in enumerate(children):
                if child.exitcode not in (None, 0):
                    return "failed", shard, f"exited with code {child.exitcode}"


def _shard_main(base: Settings, config: SimulationConfig, messages: Any, end: Any) -> None:
    """A spawned process: run its share, report the moment it stopped, gather at the run's last moment."""
    code = 0
    try:
        simulation = Simulation(base, config, progress=lambda n: messages.put(("progress", config.shard, n)))
        try:
            simulation.run()
            messages.put(("ran", config.shard, simulation.clock.now()))
            part = _gather(simulation, end.get())
        finally:
            simulation.close()
        messages.put(("done", config.shard, (part, simulation.counters)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        messages.put(("failed", config.shard, traceback.format_exc()))
        code = 1
    # The process holds its running projects' workflows in the cache (~1 GB at 500 projects, measured when the
    # ended ones stayed too), and an interpreter's exit frees them object by object while the parent waits in
    # `join` (`simulate --projects 1000`: 4.8 s between the last figures received and the joins). Its database is closed and all it had to say
    # is on the queue: flush that, then end the process without the teardown.
    messages.close()
    messages.join_thread()
    os._exit(code)
