"""Deploy BPMN files as versioned definitions, with the forms they reference snapshotted beside them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn.lint import LintContext, lint_report, load_departments
from engine.bpmn.parsing import load_process
from engine.dto import DefinitionOut
from engine.errors import DefinitionNotFound
from engine.models import EventKind, ProcessDefinition
from engine.services import core_rows, history
from engine.services.context import EngineContext
from engine.services.forms import read_form


def lint_context(ctx: EngineContext) -> LintContext:
    """Deploy lints without the worker registry: an unknown topic is a warning and never blocks a deploy."""
    return LintContext(forms_dir=ctx.forms_dir, departments=load_departments(ctx.processes_dir / "departments.toml"))


def is_form_file(form: str) -> bool:
    """Other form-key schemes (embedded:…, camunda-forms:…) get a generic form: nothing to snapshot (lint warns)."""
    return "/" not in form and ":" not in form


def _content_hash(bpmn: bytes, forms: dict[str, bytes]) -> str:
    digest = hashlib.sha256(bpmn)
    for name in sorted(forms):
        digest.update(b"\0" + name.encode() + b"\0" + forms[name])
    return digest.hexdigest()


def deploy_bytes(session: Session, ctx: EngineContext, data: bytes, file_name: str, *, actor: str,
                 now: datetime, always_new_version: bool = False) -> DefinitionOut:
    """Lint, parse and check `data`; unchanged content (BPMN and referenced forms) returns the existing version,
    unless `always_new_version` (Camunda's deploy without `deploy-changed-only`, /engine-rest).
    Lint errors refuse the deploy (`InvalidBpmn` with every finding); warnings do not."""
    report = lint_report(data, file=file_name, context=lint_context(ctx))
    if report.errors:
        raise report.refusal()
    parsed = report.parsed or load_process(data, file=file_name)
    forms: dict[str, dict] = {}
    for element in parsed.elements.values():
        if element.form and is_form_file(element.form) and element.form not in forms:
            forms[element.form] = read_form(ctx.forms_dir, element.form, bpmn_file=file_name,
                                            element_id=element.bpmn_id)
    form_bytes = {name: json.dumps(schema, sort_keys=True).encode() for name, schema in forms.items()}
    content_sha = _content_hash(data, form_bytes)
    latest = latest_definition(session, parsed.key, required=False)
    if latest is not None and latest.content_sha256 == content_sha and not always_new_version:
        return DefinitionOut.from_model(latest, unchanged=True)
    definition = ProcessDefinition(
        process_key=parsed.key,
        version=(latest.version + 1) if latest else 1,
        name=parsed.name,
        file_name=file_name,
        bpmn_sha256=hashlib.sha256(data).hexdigest(),
        content_sha256=content_sha,
        source_xml=data.decode("utf-8"),
        forms=forms,
        elements={bpmn_id: info.as_dict() for bpmn_id, info in parsed.elements.items()},
        deployed_at=now,
        deployed_by=actor,
    )
    session.add(definition)
    session.flush()
    ctx.specs.put(definition.id, parsed)
    history.record(session, hmac_key=ctx.hmac_key, instance_id=None, kind=EventKind.DEFINITION_DEPLOYED,
                   actor=actor, at=now, payload={"key": parsed.key, "version": definition.version,
                                                 "definition_id": definition.id, "file": file_name,
                                                 "content_sha256": content_sha})
    return DefinitionOut.from_model(definition)


def deploy_path(session: Session, ctx: EngineContext, path: Path, *, actor: str, now: datetime) -> DefinitionOut:
    return deploy_bytes(session, ctx, path.read_bytes(), path.name, actor=actor, now=now)


def _newest(statement: Select[Any], key: str | BindParameter[str]) -> Select[Any]:
    return statement.where(ProcessDefinition.process_key == key).order_by(ProcessDefinition.version.desc()).limit(1)


def latest_definition(session: Session, key: str, *, required: bool = True) -> ProcessDefinition | None:
    definition = session.scalars(_newest(select(ProcessDefinition), key)).first()
    if definition is None and required:
        raise DefinitionNotFound(f"no process definition with key {key!r}")
    return definition


@dataclass(frozen=True)
class VersionRef:
    """Which deployed version: its id, key and number, without the row's XML, forms and elements."""

    id: int
    process_key: str
    version: int


_REF_COLUMNS = (ProcessDefinition.id, ProcessDefinition.process_key, ProcessDefinition.version)


def latest_version(session: Session, key: str) -> VersionRef:
    """`latest_definition`'s id, key and version: starting an instance needs the whole row (XML, forms, elements:
    ~1% of a simulation decoding JSON) only when its spec is not cached."""
    row = core_rows.read(session, _LATEST_REF, {"key": key}).one_or_none()
    if row is None:
        raise DefinitionNotFound(f"no process definition with key {key!r}")
    return VersionRef(*row)


# Built once, the key bound per call (a start reads it: building the statement cost about as much as running it).
_LATEST_REF = _newest(select(*_REF_COLUMNS), bindparam("key"))
_REF = select(*_REF_COLUMNS).where(ProcessDefinition.id == bindparam("definition_id"))


def version_ref(session: Session, definition_id: int) -> VersionRef:
    row = core_rows.read(session, _REF, {"definition_id": definition_id}).one_or_none()
    if row is None:
        raise DefinitionNotFound(f"no process definition {definition_id}")
    return VersionRef(*row)


def get_definition(session: Session, definition_id: int) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise DefinitionNotFound(f"no process definition {definition_id}")
    return definition


def list_definitions(session: Session, *, key: str | None = None, latest_only: bool = False) -> list[DefinitionOut]:
    query = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version)
    if key:
        query = query.where(ProcessDefinition.process_key == key)
    rows = session.scalars(query).all()
    if latest_only:
        newest: dict[str, ProcessDefinition] = {}
        for row in rows:
            newest[row.process_key] = row
        rows = list(newest.values())
    return [DefinitionOut.from_model(d) for d in rows]
