"""`approvals simulate`: N projects through the real engine on a fresh database file, with a progress bar."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from engine.cli import CliState, pass_state
from engine.config import load_settings


@click.command("simulate")
@click.option("--projects", type=click.IntRange(1, 100_000), required=True, help="how many projects arrive")
@click.option("--kind", type=click.Choice(["commercial", "government", "mixed"]), default="mixed", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="the random seed (same seed, same run)")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write charts (SVG) and index.html here")
@click.option("--documents", is_flag=True, help="also render every permit as a PDF")
@click.option("--keep-db", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="keep the simulation's database in this directory (default: a temporary one, removed); with "
                   "several processes, one per process in DIR/shard-K")
@click.option("--processes", type=click.IntRange(1, 64), default=None,
              help="split the applicants across this many processes, each with its own database (default: one "
                   "per CPU, each with at least 100 projects; one with --keep-db)")
@pass_state
def simulate(state: CliState, projects: int, kind: str, seed: int, as_json: bool, report_dir: Path | None,
             documents: bool, keep_db: Path | None, processes: int | None) -> None:
    """Run PROJECTS through the engine (real database file, real workers, simulated clock); exit 1 if a project
    that reached the permit with its non-defaulting steps on time overran its cap, or a reform figure fails."""
    from engine.simulation import shards
    from engine.simulation.report import summary_text, write_report
    from engine.simulation.runner import SimulationConfig

    started = time.monotonic()
    if processes is None:
        processes = 1 if keep_db is not None else shards.default_processes(projects)
    config = SimulationConfig(projects=projects, kind=kind, seed=seed, documents=documents)
    directory = keep_db or Path(tempfile.mkdtemp(prefix="approvals-simulate-"))
    directory.mkdir(parents=True, exist_ok=True)
    settings = load_settings(state.config)
    try:
        with click.progressbar(length=projects, label="projects", file=sys.stderr) as bar:
            try:
                outcome = shards.run(settings, config, directory, processes, progress=bar.update)
            except shards.ShardFailed as exc:
                raise click.ClickException(str(exc)) from exc
            finally:
                bar.update(0)
    finally:
        if keep_db is None:
            shutil.rmtree(directory, ignore_errors=True)
    figures = outcome.figures
    figures.seconds = round(time.monotonic() - started, 1)
    figures.counters = {"commands": outcome.counters.commands, "jobs": outcome.counters.jobs,
                        "timers": outcome.counters.timers, "stale_answers": outcome.counters.stale_answers,
                        "processes": processes}
    if keep_db is not None:
        click.echo("databases: " + ", ".join(str(path) for path in outcome.databases), err=True)
    if report_dir is not None:
        from engine.auth.departments import load_departments

        page = write_report(figures, report_dir, load_departments(settings.path(settings.paths.processes)))
        click.echo(f"report: {page}", err=True)
    click.echo(json.dumps(figures.to_json(), ensure_ascii=False, indent=2) if as_json else summary_text(figures))
    if not figures.ok:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(simulate)
