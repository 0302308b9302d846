"""The applicants' portal commands: `notify run|list` (the e-mail/SMS outbox) and `documents check` (every
stored document's bytes against its SHA-256)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cli import CliState, pass_state


@click.group("notify")
def notify_group() -> None:
    """Messages to applicants (status changes, notices, due dates) by e-mail and SMS."""


@notify_group.command("run")
@pass_state
def notify_run(state: CliState) -> None:
    """Collect new messages from the history and send what waits (senders from [notify]); exit 1 if any failed."""
    from engine.portal.notifier import run_once

    out = run_once(state.app)
    click.echo(f"queued {out.queued}, sent {out.sent}, failed {out.failed}")
    if out.failed:
        sys.exit(1)


@notify_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), default=None)
@pass_state
def notify_list(state: CliState, status: str | None) -> None:
    """The latest 200 messages."""
    from engine.models import Notification

    def read(session: Session) -> list[Notification]:
        query = select(Notification).order_by(Notification.created_at.desc()).limit(200)
        return list(session.scalars(query.where(Notification.status == status) if status else query))

    for n in state.read(read):
        click.echo(f"{n.created_at:%Y-%m-%d %H:%M} {n.status:<7} {n.channel:<5} {n.credit_code} {n.subject}")


@click.group("documents")
def documents_group() -> None:
    """Stored documents (applicants' uploads, PDFs of permits and notices)."""


@documents_group.command("check")
@pass_state
def documents_check(state: CliState) -> None:
    """Read every stored document and compare it with its SHA-256; exit 1 naming each missing or altered one."""
    from engine.documents.store import DocumentCorrupt, DocumentStore
    from engine.models import Document

    settings = state.app.settings
    store = DocumentStore(settings.path(settings.paths.var) / "docstore")
    rows = state.read(lambda s: [(d.id, d.storage_key, d.sha256) for d in s.scalars(select(Document))])
    bad = 0
    for doc_id, key, digest in rows:
        try:
            store.read(key, digest)
        except (OSError, DocumentCorrupt) as exc:
            bad += 1
            click.echo(f"FAIL {doc_id}: {exc}", err=True)
    click.echo(f"{len(rows) - bad} of {len(rows)} documents intact")
    if bad:
        sys.exit(1)


def register(main: click.Group) -> None:
    for command in (notify_group, documents_group):
        main.add_command(command)
