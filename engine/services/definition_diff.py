"""What changed between two deployed versions of a process: elements and sequence flows added, removed, changed.

Elements are compared by id (as the engine sees them: BPMN type, name, subprocess, boundary attachment, timer text,
event definitions, lane, candidate groups, form, topic and designer properties); flows by id (source, target,
name, condition). A renamed id shows as one removed and one added element: `approvals migrate --map` says what
the designer meant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.structure import Structure, read_structure
from engine.errors import DefinitionNotFound, InvalidInput
from engine.models import ProcessDefinition

# Engine facts kept with each deployed element (parsing.ElementInfo); the XML type wins over Spiff's class name.
ENGINE_FIELDS = ("lane", "candidate_groups", "form", "topic")


@dataclass(frozen=True)
class ElementChange:
    id: str
    type: str
    name: str | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (old, new)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "name": self.name}
        if self.changes:
            out["changes"] = {k: {"from": old, "to": new} for k, (old, new) in self.changes.items()}
        return out


@dataclass(frozen=True)
class FlowChange:
    id: str
    source: str
    target: str
    name: str | None
    condition: str | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "target": self.target, "name": self.name,
                               "condition": self.condition}
        if self.changes:
            out["changes"] = {k: {"from": old, "to": new} for k, (old, new) in self.changes.items()}
        return out


@dataclass(frozen=True)
class DefinitionDiff:
    key: str
    from_version: int
    to_version: int
    elements_added: list[ElementChange]
    elements_removed: list[ElementChange]
    elements_changed: list[ElementChange]
    flows_added: list[FlowChange]
    flows_removed: list[FlowChange]
    flows_changed: list[FlowChange]

    @property
    def empty(self) -> bool:
        return not (self.elements_added or self.elements_removed or self.elements_changed or self.flows_added
                    or self.flows_removed or self.flows_changed)

    def to_json(self) -> dict[str, Any]:
        def items(rows: list[ElementChange] | list[FlowChange]) -> list[dict[str, Any]]:
            return [r.to_json() for r in rows]

        return {
            "key": self.key, "from": self.from_version, "to": self.to_version, "unchanged": self.empty,
            "elements": {"added": items(self.elements_added), "removed": items(self.elements_removed),
                         "changed": items(self.elements_changed)},
            "flows": {"added": items(self.flows_added), "removed": items(self.flows_removed),
                      "changed": items(self.flows_changed)},
        }


def definition_version(session: Session, key: str, version: int) -> ProcessDefinition:
    definition = session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.process_key == key, ProcessDefinition.version == version)).one_or_none()
    if definition is None:
        raise DefinitionNotFound(f"{key} has no version {version}")
    return definition


def _element_facts(structure: Structure, elements: dict[str, Any], element_id: str) -> dict[str, Any]:
    shape = structure.nodes[element_id].as_dict()
    engine = elements.get(element_id) or {}
    facts: dict[str, Any] = {k: v for k, v in shape.items() if k != "name"}
    facts["name"] = shape["name"]
    for name in ENGINE_FIELDS:
        facts[name] = engine.get(name)
    for prop, value in sorted((engine.get("properties") or {}).items()):
        facts[f"properties.{prop}"] = value
    return facts


def _compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def diff_structures(key: str, from_version: int, to_version: int, old: Structure, old_elements: dict[str, Any],
                    new: Structure, new_elements: dict[str, Any]) -> DefinitionDiff:
    def node(structure: Structure, element_id: str) -> ElementChange:
        shape = structure.nodes[element_id]
        return ElementChange(element_id, shape.type, shape.name)

    def flow(structure: Structure, flow_id: str, changes: dict[str, tuple[Any, Any]] | None = None) -> FlowChange:
        shape = structure.flows[flow_id]
        return FlowChange(flow_id, shape.source, shape.target, shape.name, shape.condition, changes or {})

    changed = []
    for element_id in sorted(old.nodes.keys() & new.nodes.keys()):
        changes = _compare(_element_facts(old, old_elements, element_id), _element_facts(new, new_elements, element_id))
        if changes:
            changed.append(ElementChange(element_id, new.nodes[element_id].type, new.nodes[element_id].name, changes))
    flows_changed = []
    for flow_id in sorted(old.flows.keys() & new.flows.keys()):
        changes = _compare(old.flows[flow_id].as_dict(), new.flows[flow_id].as_dict())
        if changes:
            flows_changed.append(flow(new, flow_id, changes))
    return DefinitionDiff(
        key=key, from_version=from_version, to_version=to_version,
        elements_added=[node(new, i) for i in sorted(new.nodes.keys() - old.nodes.keys())],
        elements_removed=[node(old, i) for i in sorted(old.nodes.keys() - new.nodes.keys())],
        elements_changed=changed,
        flows_added=[flow(new, i) for i in sorted(new.flows.keys() - old.flows.keys())],
        flows_removed=[flow(old, i) for i in sorted(old.flows.keys() - new.flows.keys())],
        flows_changed=flows_changed,
    )


def structure_of(definition: ProcessDefinition) -> Structure:
    """The definition's structure; a deployed version never changes, so it is read once per content."""
    return _structure(definition.content_sha256, definition.source_xml, definition.file_name)


@functools.lru_cache(maxsize=16)
def _structure(_content_sha256: str, source_xml: str, file_name: str) -> Structure:
    return read_structure(source_xml.encode("utf-8"), file=file_name)


def diff_versions(session: Session, key: str, from_version: int, to_version: int) -> DefinitionDiff:
    """The diff of KEY between two deployed versions (either order; the same version gives an empty diff)."""
    for version in (from_version, to_version):
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput(f"versions are whole numbers >= 1, not {version!r}")
    old = definition_version(session, key, from_version)
    new = definition_version(session, key, to_version)
    return diff_structures(key, from_version, to_version, structure_of(old), old.elements, structure_of(new),
                           new.elements)
