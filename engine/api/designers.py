"""Designers' API (issue 11): the diff between two versions of a process, and migrating instances between them.

GET  /api/process-definitions/key/{key}/diff?from=V1&to=V2
POST /api/process-definitions/key/{key}/migrate   {"from": 1, "to": 2, "map": {"old": "new"}, "dryRun": true}
POST /api/process-instances/{id}/migrate          {"to": 2, "map": {...}, "from": 1, "dryRun": false}
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.openapi import COMMAND, problems
from engine.api.schemas.designers import (DefinitionDiff, DiffQuery, InstancePlan, MigrateInstanceIn, MigrateKeyIn,
                                          MigrationPlan)
from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.services import instance_migration, instances
from engine.services.definition_diff import diff_versions

bp = APIBlueprint("designers", __name__, tag="Versions and migration")


@bp.get("/api/process-definitions/key/<key>/diff")
@bp.input(DiffQuery, location="query", arg_name="query")
@bp.output(DefinitionDiff)
def diff(key: str, query: DiffQuery) -> dict[str, Any]:
    """What changed between two versions of a process: elements and flows added, removed, changed"""
    return diff_versions(get_session(), key, query.from_version, query.to_version).to_json()


@bp.post("/api/process-definitions/key/<key>/migrate")
@bp.input(MigrateKeyIn, arg_name="body")
@bp.output(MigrationPlan)
@bp.doc(responses=problems(503))
def migrate_version(key: str, body: MigrateKeyIn) -> dict[str, Any]:
    """Move every running instance of version `from` to `to`, each in its own transaction (or plan with dryRun)"""
    plans = instance_migration.migrate_all(state().sessions, ctx(), key, from_version=body.from_version,
                                           to_version=body.to_version, id_map=body.map or {}, actor=actor(),
                                           now=now(), dry_run=body.dry_run)
    return {"key": key, "from": body.from_version, "to": body.to_version, "dryRun": body.dry_run,
            "items": [p.to_json() for p in plans]}


@bp.post("/api/process-instances/<instance_id>/migrate")
@unit_of_work
@bp.input(MigrateInstanceIn, arg_name="body")
@bp.output(InstancePlan)
@bp.doc(responses=problems(*COMMAND, s409="`migration-refused`: it cannot move (`problems` says why); nothing "
                                          "changed"))
def migrate_instance(instance_id: str, body: MigrateInstanceIn) -> dict[str, Any]:
    """Move one instance to another version of its process (or plan it with dryRun)"""
    session = get_session()
    if body.dry_run:
        instance = instances.get_instance(session, instance_id)
        return instance_migration.plan_instance(session, ctx(), instance, to_version=body.to_version,
                                                id_map=body.map or {}, now=now()).to_json()
    return instance_migration.migrate_instance(session, ctx(), instance_id, to_version=body.to_version,
                                               id_map=body.map or {}, actor=actor(), now=now(),
                                               from_version=body.from_version).to_json()
