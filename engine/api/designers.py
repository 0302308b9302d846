"""Designers' API (issue 11): the diff between two versions of a process, and migrating instances between them.

GET  /api/process-definitions/key/{key}/diff?from=V1&to=V2
POST /api/process-definitions/key/{key}/migrate   {"from": 1, "to": 2, "map": {"old": "new"}, "dryRun": true}
POST /api/process-instances/{id}/migrate          {"to": 2, "map": {...}, "from": 1, "dryRun": false}
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.requests import json_body, object_field
from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.errors import InvalidInput
from engine.services import instance_migration, instances
from engine.services.definition_diff import diff_versions

bp = Blueprint("designers", __name__)


def _version(value: Any, name: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"'{name}' must be a version number >= 1, not {value!r}")
    return value


def _map(body: dict[str, Any]) -> dict[str, str]:
    id_map = object_field(body, "map")
    bad = [k for k, v in id_map.items() if not isinstance(v, str)]
    if bad:
        raise InvalidInput(f"map: {bad[0]!r} must map to an element id string")
    return id_map


def _dry_run(body: dict[str, Any]) -> bool:
    value = body.get("dryRun", False)
    if not isinstance(value, bool):
        raise InvalidInput("'dryRun' must be true or false")
    return value


@bp.get("/api/process-definitions/key/<key>/diff")
def diff(key: str) -> dict[str, Any]:
    from_version = _version(request.args.get("from"), "from")
    to_version = _version(request.args.get("to"), "to")
    assert from_version is not None and to_version is not None
    return diff_versions(get_session(), key, from_version, to_version).to_json()


@bp.post("/api/process-definitions/key/<key>/migrate")
def migrate_version(key: str) -> dict[str, Any]:
    """Every running instance of vFROM: each moved in its own transaction (or only planned with dryRun)."""
    body = json_body()
    from_version, to_version = _version(body.get("from"), "from"), _version(body.get("to"), "to")
    assert from_version is not None and to_version is not None
    app_state = state()
    plans = instance_migration.migrate_all(app_state.sessions, ctx(), key, from_version=from_version,
                                           to_version=to_version, id_map=_map(body), actor=actor(), now=now(),
                                           dry_run=_dry_run(body))
    return {"key": key, "from": from_version, "to": to_version, "dryRun": _dry_run(body),
            "items": [p.to_json() for p in plans]}


@bp.post("/api/process-instances/<instance_id>/migrate")
@unit_of_work
def migrate_instance(instance_id: str) -> dict[str, Any]:
    """One instance; 409 `migration-refused` with `problems` when it cannot move (nothing changes)."""
    body = json_body()
    to_version = _version(body.get("to"), "to")
    from_version = _version(body.get("from"), "from", required=False)
    assert to_version is not None
    session = get_session()
    if _dry_run(body):
        instance = instances.get_instance(session, instance_id)
        return instance_migration.plan_instance(session, ctx(), instance, to_version=to_version,
                                                id_map=_map(body), now=now()).to_json()
    return instance_migration.migrate_instance(session, ctx(), instance_id, to_version=to_version,
                                               id_map=_map(body), actor=actor(), now=now(),
                                               from_version=from_version).to_json()
