"""Camunda's deployments (POST /engine-rest/deployment/create): several BPMN resources deployed together, all or
nothing, recorded as one `camunda_deployments` row (issue 12).

Camunda's flags, as Camunda Modeler sends them:
- `deploy-changed-only` (default false): false deploys every resource as a new version even when its bytes are
  unchanged (Camunda's default); true deploys only the resources whose content (BPMN and referenced forms)
  differs from the latest version of their process — the engine's own rule for the CLI and /api.
- `enable-duplicate-filtering`: like deploy-changed-only here, except that an all-unchanged deployment returns
  the previous deployment of the same name (Camunda's behaviour) instead of an empty new one.
When nothing was deployed and a previous deployment of that name carried exactly these resources, that
deployment is returned, with no deployed definitions (as Camunda does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.lint import lint_report
from engine.bpmn.parsing import load_process
from engine.dto import DefinitionOut
from engine.errors import InvalidBpmn, InvalidInput, NotFound
from engine.models import CamundaDeployment, ProcessDefinition
from engine.services.context import EngineContext
from engine.services.deployments import deploy_bytes, lint_context

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
MAX_RESOURCES = 50


class DeploymentNotFound(NotFound):
    """Deployment not found"""


@dataclass(frozen=True)
class Resource:
    name: str
    data: bytes


@dataclass(frozen=True)
class DeploymentOut:
    id: str
    name: str | None
    source: str | None
    deployed_at: datetime
    deployed: list[DefinitionOut]  # the definitions this request created (empty: nothing changed)


def create(session: Session, ctx: EngineContext, resources: list[Resource], *, name: str | None,
           source: str | None, changed_only: bool, duplicate_filtering: bool, actor: str,
           now: datetime) -> DeploymentOut:
    if not resources:
        raise InvalidInput("a deployment needs at least one resource (a .bpmn file part)")
    if len(resources) > MAX_RESOURCES:
        raise InvalidInput(f"a deployment carries at most {MAX_RESOURCES} resources")
    names = [r.name for r in resources]
    for resource in resources:
        if not resource.name.lower().endswith(BPMN_SUFFIXES):
            raise InvalidInput(f"resource {resource.name!r} is not BPMN: only {', '.join(BPMN_SUFFIXES)} files are "
                               "deployed here (forms live in forms/<key>.schema.json)")
    if len(set(names)) != len(names):
        raise InvalidInput("two resources share a name")
    # Check every resource before deploying any: a refusal after the first was deployed would roll back a
    # definition whose parsed spec the app already cached under its id.
    keys: dict[str, str] = {}
    for resource in resources:
        report = lint_report(resource.data, file=resource.name, context=lint_context(ctx))
        if report.errors or report.refused is not None:
            raise report.refusal()
        key = (report.parsed or load_process(resource.data, file=resource.name)).key
        if key in keys:  # Camunda refuses two definitions of one key in one deployment; so do we
            raise InvalidBpmn(f"{resource.name}: process {key!r} is also defined in {keys[key]}", file=resource.name)
        keys[key] = resource.name
    filtering = changed_only or duplicate_filtering
    outs = [deploy_bytes(session, ctx, r.data, r.name, actor=actor, now=now, always_new_version=not filtering)
            for r in resources]
    deployed = [o for o in outs if not o.unchanged]
    carried = {r.name: o.id for r, o in zip(resources, outs)}
    if not deployed and name is not None:
        previous = session.scalars(select(CamundaDeployment).where(CamundaDeployment.name == name)
                                   .order_by(CamundaDeployment.deployed_at.desc()).limit(1)).first()
        if previous is not None and previous.resources == carried:
            return DeploymentOut(previous.id, previous.name, previous.source, previous.deployed_at, [])
    row = CamundaDeployment(id=str(uuid.uuid4()), name=name, source=source, deployed_at=now, deployed_by=actor,
                            definition_ids=[o.id for o in deployed], resources=carried)
    session.add(row)
    session.flush()
    return DeploymentOut(row.id, row.name, row.source, row.deployed_at, deployed)


def get(session: Session, deployment_id: str) -> DeploymentOut:
    row = session.get(CamundaDeployment, deployment_id)
    if row is None:
        raise DeploymentNotFound(f"Deployment with id '{deployment_id}' does not exist")
    return _out(session, row)


def list_deployments(session: Session, *, name: str | None = None, offset: int = 0,
                     limit: int | None = None) -> list[DeploymentOut]:
    query = select(CamundaDeployment).order_by(CamundaDeployment.deployed_at, CamundaDeployment.id)
    if name is not None:
        query = query.where(CamundaDeployment.name == name)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_out(session, row) for row in session.scalars(query).all()]


def deployment_ids(session: Session) -> dict[int, str]:
    """definition id -> the Camunda deployment that created it (definitions deployed by the CLI or /api: none)."""
    result: dict[int, str] = {}
    for row in session.scalars(select(CamundaDeployment).order_by(CamundaDeployment.deployed_at)):
        for definition_id in row.definition_ids:
            result[int(definition_id)] = row.id
    return result


def _out(session: Session, row: CamundaDeployment) -> DeploymentOut:
    definitions = [session.get(ProcessDefinition, int(i)) for i in row.definition_ids]
    return DeploymentOut(row.id, row.name, row.source, row.deployed_at,
                         [DefinitionOut.from_model(d) for d in definitions if d is not None])
