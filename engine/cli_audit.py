"""Auditors' commands (issue 10): `diagram`, `replay`, `report`. Registered on the `approvals` group by cli.py.

They use `click.pass_obj` (the group's CliState) so this module does not import engine.cli back.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from engine.cli import CliState


@click.command("diagram")
@click.option("--instance", "instance_id", default=None, help="an instance: its diagram with the path taken")
@click.option("--definition", "definition_id", type=int, default=None, help="a definition id: its bare diagram")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the SVG here (default: standard output)")
@click.pass_obj
def diagram(state: CliState, instance_id: str | None, definition_id: int | None, out: Path | None) -> None:
    """Render a diagram as SVG."""
    from engine.services import diagrams

    if (instance_id is None) == (definition_id is None):
        raise click.UsageError("give exactly one of --instance ID or --definition ID")

    def read(session: Session) -> bytes:
        if instance_id is not None:
            return diagrams.instance_svg(session, instance_id)
        assert definition_id is not None
        return diagrams.definition_svg(session, definition_id)

    svg = state.read(read)
    if out is None:
        sys.stdout.buffer.write(svg)
    else:
        out.write_bytes(svg)
        click.echo(f"wrote {out} ({len(svg)} bytes)")


def register(group: click.Group) -> None:
    for command in (diagram,):
        group.add_command(command)
