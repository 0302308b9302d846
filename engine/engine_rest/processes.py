"""/engine-rest process definitions and instances: list and get definitions, start an instance (by key or by
definition id, as Camunda Modeler's "start instance" does), get a running instance (404 once it has ended, as
Camunda's runtime API). Same services and scoping as /api."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.api.access import current_principal
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import policy
from engine.auth.masking import mask_value
from engine.engine_rest import shapes
from engine.engine_rest.blueprint import bp
from engine.engine_rest.errors import CamundaRestError, invalid_request
from engine.engine_rest.requests import body, paging, query_bool
from engine.engine_rest.variables import from_camunda, to_camunda
from engine.errors import DefinitionNotFound
from engine.models import InstanceStatus
from engine.services import camunda_deployments, deployments, instances
from engine.dto import DefinitionOut


def _definitions(key: str | None = None, latest: bool = False) -> list[DefinitionOut]:
    return deployments.list_definitions(get_session(), key=key, latest_only=latest)


@bp.get("/process-definition")
def list_definitions() -> list[dict[str, Any]]:
    first, most = paging()
    rows = _definitions(request.args.get("key") or None, bool(query_bool("latestVersion")))
    for name, attribute in (("name", "name"), ("resourceName", "file_name")):
        if request.args.get(name):
            rows = [d for d in rows if getattr(d, attribute) == request.args[name]]
    if request.args.get("version"):
        rows = [d for d in rows if str(d.version) == request.args["version"]]
    wanted = request.args.get("processDefinitionId")
    if wanted:
        rows = [d for d in rows if d.id == shapes.parse_definition_id(wanted)]
    deployed_by = camunda_deployments.deployment_ids(get_session())
    if request.args.get("deploymentId"):
        rows = [d for d in rows if deployed_by.get(d.id) == request.args["deploymentId"]]
    rows = rows[first: first + most if most is not None else None]
    return [shapes.process_definition(d, deployed_by.get(d.id)) for d in rows]


@bp.get("/process-definition/count")
def count_definitions() -> dict[str, int]:
    return {"count": len(_definitions(request.args.get("key") or None, bool(query_bool("latestVersion"))))}


def _one_definition(our_id: int) -> dict[str, Any]:
    definition = DefinitionOut.from_model(deployments.get_definition(get_session(), our_id))
    return shapes.process_definition(definition, camunda_deployments.deployment_ids(get_session()).get(our_id))


@bp.get("/process-definition/<definition_id>")
def get_definition(definition_id: str) -> dict[str, Any]:
    return _one_definition(shapes.parse_definition_id(definition_id))


@bp.get("/process-definition/key/<key>")
def get_latest_definition(key: str) -> dict[str, Any]:
    definition = deployments.latest_definition(get_session(), key, required=False)
    if definition is None:
        raise DefinitionNotFound(f"No matching process definition with key: {key} and no tenant-id")
    return _one_definition(definition.id)


def _start(key: str, definition_id: int | None) -> dict[str, Any]:
    data = body()
    business_key = data.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise invalid_request("businessKey must be a string")
    variables = from_camunda(data.get("variables"))
    for unsupported in ("startInstructions", "caseInstanceId"):
        if data.get(unsupported):
            raise invalid_request(f"{unsupported} is not supported by this engine")
    session = get_session()
    out = instances.start(session, ctx(), key, variables, actor=actor(), now=now(), business_key=business_key,
                          definition_id=definition_id)
    version = deployments.get_definition(session, out.definition_id).version
    shaped = shapes.process_instance(out, version)
    if data.get("withVariablesInReturn"):
        principal = current_principal()
        shaped["variables"] = to_camunda(out.variables if policy.needs_personal_data(principal)
                                         else mask_value(out.variables))
    return shaped


@bp.post("/process-definition/key/<key>/start")
@unit_of_work
def start_by_key(key: str) -> dict[str, Any]:
    if deployments.latest_definition(get_session(), key, required=False) is None:
        raise CamundaRestError(404, "RestException", f"No matching process definition with key: {key} and no "
                               "tenant-id")
    return _start(key, None)


@bp.post("/process-definition/<definition_id>/start")
@unit_of_work
def start_by_id(definition_id: str) -> dict[str, Any]:
    our_id = shapes.parse_definition_id(definition_id)
    definition = deployments.get_definition(get_session(), our_id)
    return _start(definition.process_key, our_id)


@bp.get("/process-instance/<instance_id>")
def get_instance(instance_id: str) -> dict[str, Any]:
    """Camunda's runtime API forgets an instance when it ends: 404 then (history keeps it: /api/history)."""
    session = get_session()
    instance = session.get(instances.ProcessInstance, instance_id)
    if instance is None or instance.status in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
        raise CamundaRestError(404, "InvalidRequestException",
                               f"Process instance with id {instance_id} does not exist")
    policy.require_instance(session, current_principal(), instance)
    version = deployments.get_definition(session, instance.definition_id).version
    return shapes.process_instance(instances.InstanceOut.from_model(instance), version, ended=False)
