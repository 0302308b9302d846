"""Replay re-applies a migration: `instance:migrated` is a command (README "Replay").

The scratch database starts with the version the instance started on; the version it moved to is copied in from
the real database when the migration is re-run, with the recorded actor, time and element map. The re-run must
write the same events (what moved, with due times) and leave the same state.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.models import ProcessDefinition
from engine.services.replay_kinds import REGISTRY, ReplayInputMissing, ReplayStep


def _copy_definition(step: ReplayStep, session: Session, definition_id: int) -> None:
    if session.get(ProcessDefinition, definition_id) is not None:
        return
    source = step.run.source
    row = source.get(ProcessDefinition, definition_id) if source is not None else None
    if row is None:
        raise ReplayInputMissing(f"event #{step.event.seq}: definition {definition_id} (the version migrated to) "
                                 f"is not in the database")
    session.add(ProcessDefinition(**{c.key: getattr(row, c.key) for c in ProcessDefinition.__table__.columns}))
    session.flush()


@REGISTRY.command("instance:migrated")
def _migrated(step: ReplayStep) -> None:
    from engine.services import instance_migration

    to_definition = step.require("to_definition_id")
    to_version = step.require("to_version")
    id_map = step.payload.get("map") or {}
    if not isinstance(to_definition, int) or not isinstance(to_version, int) or not isinstance(id_map, dict):
        raise ReplayInputMissing(f"event #{step.event.seq}: malformed instance:migrated payload")

    def apply(session: Session) -> None:
        _copy_definition(step, session, to_definition)
        instance_migration.migrate_instance(session, step.run.ctx, step.run.require_instance(),
                                            to_version=to_version, id_map=id_map, actor=step.actor, now=step.at)

    step.run_in_scratch(apply)
