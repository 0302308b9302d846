"""Designers: the diff between two versions of a process, migrating instances between versions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.api.schemas.base import MAX_INT, Body, Int, Out, Query, int_between


class DiffQuery(Query):
    from_version: int = Field(alias="from", ge=1, le=MAX_INT)
    to_version: int = Field(alias="to", ge=1, le=MAX_INT)


class Change(Out):
    from_value: Any = Field(alias="from")
    to_value: Any = Field(alias="to")


class ElementChange(Out):
    id: str
    type: str
    name: str | None
    changes: dict[str, Change] = Field(default_factory=dict, description="field -> from, to (changed elements)")


class FlowChange(Out):
    id: str
    source: str
    target: str
    name: str | None
    condition: str | None
    changes: dict[str, Change] = Field(default_factory=dict)


class ElementChanges(Out):
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]


class FlowChanges(Out):
    added: list[FlowChange]
    removed: list[FlowChange]
    changed: list[FlowChange]


class DefinitionDiff(Out):
    key: str
    from_version: int = Field(alias="from")
    to_version: int = Field(alias="to")
    unchanged: bool
    elements: ElementChanges
    flows: FlowChanges


class MigrateKeyIn(Body):
    from_version: Int = Field(alias="from", ge=1, le=MAX_INT)
    to_version: Int = Field(alias="to", ge=1, le=MAX_INT)
    map: dict[str, str] | None = Field(None, description="old element id -> new element id (default: same ids)")
    dry_run: bool = Field(False, alias="dryRun", description="only plan: change nothing")


class MigrateInstanceIn(Body):
    to_version: Int = Field(alias="to", ge=1, le=MAX_INT)
    from_version: int_between(1, MAX_INT) | None = Field(None, alias="from",
                                     description="refuse unless the instance is on this version")
    map: dict[str, str] | None = None
    dry_run: bool = Field(False, alias="dryRun")


class InstancePlan(Out):
    instance_id: str
    business_key: str | None
    status: str
    from_version: int = Field(alias="from")
    to_version: int = Field(alias="to")
    movable: bool
    migrated: bool
    problems: list[str] = Field(description="why it cannot move (empty: it can)")
    moved: list[dict[str, Any]] = Field(description="active elements: from, to, state, due_at")
    dropped: list[str] = Field(description="finished elements the target no longer has")
    changed: list[dict[str, Any]] = Field(description="active elements whose definition changed")
    notes: list[str] = Field(description="what the move leaves for later (boundary events added to open elements)")


class MigrationPlan(Out):
    key: str
    from_version: int = Field(alias="from")
    to_version: int = Field(alias="to")
    dry_run: bool = Field(alias="dryRun")
    items: list[InstancePlan]
