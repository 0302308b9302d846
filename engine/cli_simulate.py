"""`approvals simulate`: N projects through the real engine on a fresh database file, with a progress bar."""

from __future__ import annotations

import json
import shutil
import sys
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
              help="keep the simulation's database in this directory (default: a temporary one, removed)")
@pass_state
def simulate(state: CliState, projects: int, kind: str, seed: int, as_json: bool, report_dir: Path | None,
             documents: bool, keep_db: Path | None) -> None:
    """Run PROJECTS through the engine (real database file, real workers, simulated clock); exit 1 if a project
    that reached the permit with its non-defaulting steps on time overran its cap, or a reform figure fails."""
    from engine.simulation.figures import collect
    from engine.simulation.report import summary_text, write_report
    from engine.simulation.runner import Simulation, SimulationConfig, stuck_instances

    started = time.monotonic()
    config = SimulationConfig(projects=projects, kind=kind, seed=seed, documents=documents, directory=keep_db)
    with click.progressbar(length=projects, label="projects", file=sys.stderr) as bar:
        simulation = Simulation(load_settings(state.config), config, progress=bar.update)
        try:
            simulation.run()
        finally:
            bar.update(0)
    with simulation.state.sessions() as session:
        figures = collect(session, simulation.state.ctx, simulation.projects, kind=kind, seed=seed,
                          now=simulation.clock.now())
    figures.stuck = max(figures.stuck, stuck_instances(simulation.state))
    figures.seconds = round(time.monotonic() - started, 1)
    figures.counters = {"commands": simulation.counters.commands, "jobs": simulation.counters.jobs,
                        "timers": simulation.counters.timers, "stale_answers": simulation.counters.stale_answers}
    simulation.state.db_engine.dispose()
    if keep_db is None:
        shutil.rmtree(simulation.directory, ignore_errors=True)
    if report_dir is not None:
        from engine.auth.departments import load_departments

        page = write_report(figures, report_dir, load_departments(simulation.state.ctx.processes_dir))
        click.echo(f"report: {page}", err=True)
    click.echo(json.dumps(figures.to_json(), ensure_ascii=False, indent=2) if as_json else summary_text(figures))
    if not figures.ok:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(simulate)
