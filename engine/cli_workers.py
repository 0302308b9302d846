"""Worker commands: `worker` (run the handlers in workers/), `jobs` (list service jobs), `incidents list|retry`."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from engine.cli import CliState, _default_actor, pass_state
from engine.config import load_settings


@click.command("worker")
@click.option("--url", default=None, help="engine base URL, e.g. http://127.0.0.1:5000 (remote worker over HTTP); "
                                          "default: in process on [database] url")
@click.option("--topics", default=None, help="comma-separated topics or patterns, e.g. permit.*,applicant.* "
                                             "(default: [workers] topics)")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="handlers run at once "
                                                                              "(default: [workers] concurrency)")
@click.option("--worker-id", default=None, help="lock owner name (default: host:pid)")
@pass_state
def worker(state: CliState, url: str | None, topics: str | None, concurrency: int | None,
           worker_id: str | None) -> None:
    """Run the service-task handlers in workers/ until SIGTERM (running jobs are finished first)."""
    import logging

    import workers
    from engine.bureau.deps import BureauDeps
    from engine.sdk import WorkerRunner

    logging.getLogger("engine.worker").setLevel(logging.INFO)
    settings = load_settings(state.config)
    wanted = [t.strip() for t in topics.split(",") if t.strip()] if topics is not None else None
    try:
        # In process the approval-process handlers get the bureau's records (engine/bureau); over HTTP they
        # have none and fail clearly (their jobs become incidents): run those topics in process.
        deps = None if url else BureauDeps.from_state(state.app)
        runner = WorkerRunner(settings, workers.ROUTERS, url=url, topics=wanted, concurrency=concurrency,
                              worker_id=worker_id, state=None if url else state.app, deps=deps)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    where = url or "this database (in process)"
    click.echo(f"worker {runner.worker_id} serving {', '.join(runner.topics)} from {where}", err=True)
    runner.run()
    click.echo(f"worker {runner.worker_id} stopped", err=True)


@click.command("jobs")
@click.option("--status", default=None, help="available, locked, completed, bpmn_error, incident, cancelled")
@click.option("--topic", default=None)
@click.option("--instance", "instance_id", default=None)
@pass_state
def jobs_cmd(state: CliState, status: str | None, topic: str | None, instance_id: str | None) -> None:
    """List service jobs."""
    from engine.services import jobs

    rows = state.read(lambda s: jobs.list_jobs(s, status=status, topic=topic, instance_id=instance_id, limit=200))
    for j in rows:
        click.echo(f"{j.id}  {j.topic:<24} {j.status:<10} retries={j.retries if j.retries is not None else '-'} "
                   f"attempts={j.attempts} owner={j.lock_owner or '-'}  instance={j.instance_id}")


@click.group("incidents")
def incidents_group() -> None:
    """Incidents: jobs out of retries and uncaught BPMN errors."""


@incidents_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="resolved ones too")
@click.option("--instance", "instance_id", default=None)
@pass_state
def incidents_list(state: CliState, show_all: bool, instance_id: str | None) -> None:
    """List open incidents."""
    from engine.services import incidents

    rows = state.read(lambda s: incidents.list_incidents(s, status=None if show_all else "open",
                                                         instance_id=instance_id, limit=200))
    for i in rows:
        click.echo(f"{i.id}  {i.status:<8} {i.kind:<20} {i.bpmn_id:<20} instance={i.instance_id}  {i.message}")


@incidents_group.command("retry")
@click.argument("incident_id")
@click.option("--retries", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--as", "actor", default=None, help="the admin retrying (recorded in history)")
@pass_state
def incidents_retry(state: CliState, incident_id: str, retries: int, actor: str | None) -> None:
    """Make an incident's job claimable again with RETRIES remaining retries."""
    from engine.services import incidents

    app_state = state.app

    def retry(session: Session) -> str:
        out = incidents.retry(session, app_state.ctx, incident_id, retries=retries, actor=actor or _default_actor(),
                              now=app_state.clock.now())
        return out.job_id or ""

    job_id = state.command(retry)
    click.echo(f"incident {incident_id} resolved; job {job_id} is claimable again with {retries} retries left")


def register(main: click.Group) -> None:
    main.add_command(worker)
    main.add_command(jobs_cmd)
    main.add_command(incidents_group)
