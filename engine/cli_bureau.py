"""The bureau's commands: `catalog load|show`, `applicants submit|show`, `apply`, `credit show|blacklist`,
`notices list|dispatch`, `obligations list|fulfil`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from engine.cli import CliState, _default_actor, _json_arg, pass_state


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.group("catalog")
def catalog_group() -> None:
    """The matter catalog (事项清单): matters, the 6 preconditions, regional-assessment zones."""


@catalog_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default=None)
@pass_state
def catalog_load(state: CliState, path: Path, actor: str | None) -> None:
    """Check FILE strictly and make it the catalog in force (the same bytes again: unchanged)."""
    from engine.auth.departments import load_departments
    from engine.bureau import catalog

    app = state.app
    departments = load_departments(app.ctx.processes_dir)
    out = state.command(lambda s: catalog.load_catalog(s, path.read_bytes(), source=str(path),
                                                       departments=departments or None,
                                                       actor=actor or _default_actor(), now=app.clock.now()))
    verb = "unchanged" if out.unchanged else "loaded"
    sample = " (representative sample)" if out.sample else ""
    click.echo(f"{verb} catalog {out.version}{sample}: {out.matters} matters, {out.preconditions} preconditions, "
               f"{out.zones} zones")


@catalog_group.command("show")
@pass_state
def catalog_show(state: CliState) -> None:
    """The catalog in force, as JSON."""
    from engine.bureau import catalog

    app = state.app
    _echo_json(state.read(lambda s: catalog.current_catalog(s, app.ctx.processes_dir).to_json()))


@click.group("applicants")
def applicants_group() -> None:
    """Applicant profiles (entered once, reused by every approval)."""


@applicants_group.command("submit")
@click.option("--data", required=True, help="the profile as a JSON object (forms/applicant_profile.schema.json)")
@click.option("--as", "actor", default=None)
@pass_state
def applicants_submit(state: CliState, data: str, actor: str | None) -> None:
    """Create or update a profile; every submission is counted."""
    from engine.bureau import applicants

    app = state.app
    values = _json_arg(data)
    out = state.command(lambda s: applicants.submit_profile(s, app.ctx.forms_dir, values,
                                                            actor=actor or _default_actor(), now=app.clock.now()))
    _echo_json(out.to_json())


@applicants_group.command("show")
@click.argument("credit_code")
@pass_state
def applicants_show(state: CliState, credit_code: str) -> None:
    from engine.bureau import applicants

    _echo_json(state.read(lambda s: applicants.get_profile(s, credit_code).to_json()))


@click.command("apply")
@click.argument("key", type=click.Choice(["commercial_project", "government_investment_project"]))
@click.option("--data", required=True, help="the application as a JSON object (forms/application.schema.json)")
@click.option("--as", "actor", default=None)
@pass_state
def apply(state: CliState, key: str, data: str, actor: str | None) -> None:
    """Submit an application (the applicant's profile must exist) and start the approval."""
    from engine.bureau import applications

    app = state.app
    values = _json_arg(data)
    out = state.command(lambda s: applications.submit(s, app.ctx, key, values, actor=actor or _default_actor(),
                                                      now=app.clock.now()))
    click.echo(f"started {key} instance {out.id}")


@click.group("credit")
def credit_group() -> None:
    """Credit records: the blacklist and false commitments."""


@credit_group.command("show")
@click.argument("credit_code")
@pass_state
def credit_show(state: CliState, credit_code: str) -> None:
    from engine.bureau import credit

    app = state.app
    _echo_json(state.read(lambda s: credit.status(s, credit_code, app.clock.now()).to_json()))


@credit_group.command("blacklist")
@click.argument("credit_code")
@click.option("--reason", required=True)
@click.option("--as", "actor", default=None)
@pass_state
def credit_blacklist(state: CliState, credit_code: str, reason: str, actor: str | None) -> None:
    """Put an applicant on the credit blacklist (no 容缺受理, no 告知承诺)."""
    from engine.bureau import credit

    app = state.app
    row = state.command(lambda s: credit.record(s, credit_code=credit_code, kind=credit.BLACKLIST, reason=reason,
                                                actor=actor or _default_actor(), now=app.clock.now()))
    click.echo(f"blacklisted {row.credit_code} ({row.id})")


@click.group("notices")
def notices_group() -> None:
    """Numbered notices to applicants (the outbox)."""


@notices_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), default=None)
@pass_state
def notices_list(state: CliState, status: str | None) -> None:
    from sqlalchemy import select

    from engine.models import Notice

    def read(session: Session) -> list[Notice]:
        query = select(Notice).order_by(Notice.created_at)
        if status:
            query = query.where(Notice.status == status)
        return list(session.scalars(query.limit(500)))

    for n in state.read(read):
        click.echo(f"{n.number}  {n.title:<16} {n.status:<7} {n.credit_code}  {n.project_code}")


@notices_group.command("dispatch")
@pass_state
def notices_dispatch(state: CliState) -> None:
    """Send the notices still pending or failed (the embedded sender writes them to var/outbox/)."""
    from engine.bureau import notices
    from engine.bureau.deps import BureauDeps

    app = state.app
    deps = BureauDeps.from_state(app, documents=False)
    waiting = state.read(lambda s: [notices.message(n) for n in notices.undelivered(s, limit=1000)])
    failed = 0
    for message in waiting:
        error = None
        try:
            deps.sender.send(message)
        except Exception as exc:  # noqa: BLE001 (reported per notice, retried next time)
            error = f"{type(exc).__name__}: {exc}"
            failed += 1
        state.command(lambda s, m=message, e=error: notices.mark(s, m["id"], error=e, now=app.clock.now()))
    click.echo(f"dispatched {len(waiting) - failed} notice(s), {failed} failed")
    if failed:
        raise SystemExit(1)


@click.group("obligations")
def obligations_group() -> None:
    """Formal documents owed by departments after a deemed approval (within 1 working day)."""


@obligations_group.command("list")
@click.option("--department", default=None)
@click.option("--all", "show_all", is_flag=True, help="include fulfilled ones")
@pass_state
def obligations_list(state: CliState, department: str | None, show_all: bool) -> None:
    from engine.bureau import accountability

    rows = state.read(lambda s: accountability.obligations(s, department=department, open_only=not show_all))
    for r in rows:
        done = f"fulfilled {r['fulfilled_at']} ({r['document_no']})" if r["fulfilled_at"] else "open"
        click.echo(f"{r['id']}  {r['department']:<10} due {r['due_at']}  {r['review_name']}  {r['project_code']}  "
                   f"{done}")


@obligations_group.command("fulfil")
@click.argument("obligation_id")
@click.option("--document-no", required=True, help="the formal document's number")
@click.option("--as", "actor", required=True)
@pass_state
def obligations_fulfil(state: CliState, obligation_id: str, document_no: str, actor: str) -> None:
    from engine.bureau import accountability

    app = state.app
    row = state.command(lambda s: accountability.fulfil(s, obligation_id, document_no=document_no, actor=actor,
                                                        now=app.clock.now()))
    late = " (late)" if row.fulfilled_at and row.fulfilled_at > row.due_at else ""
    click.echo(f"fulfilled {row.id} with {row.document_no}{late}")


def register(main: click.Group) -> None:
    for command in (catalog_group, applicants_group, apply, credit_group, notices_group, obligations_group):
        main.add_command(command)
