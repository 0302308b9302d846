"""/api/process-definitions: list, versions, get, BPMN source, deploy, start."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from apiflask.schemas import FileSchema
from flask import Response

from engine.api.openapi import COMMAND, problems
from engine.api.schemas.definitions import Definition, DefinitionList, DefinitionQuery, DeployIn, StartIn
from engine.api.schemas.instances import Instance
from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.dto import DefinitionOut
from engine.errors import DefinitionNotFound, InvalidInput, TooLarge
from engine.services import deployments, instances

bp = APIBlueprint("definitions", __name__, url_prefix="/api/process-definitions", tag="Process definitions")


@bp.get("")
@bp.input(DefinitionQuery, location="query", arg_name="query")
@bp.output(DefinitionList)
def list_definitions(query: DefinitionQuery) -> dict[str, Any]:
    """Deployed definitions, by key and version"""
    rows = deployments.list_definitions(get_session(), key=query.key, latest_only=query.latest)
    return {"items": [d.to_json() for d in rows]}


@bp.get("/key/<key>/versions")
@bp.output(DefinitionList)
def versions(key: str) -> dict[str, Any]:
    """Every version of one process key, oldest first"""
    rows = deployments.list_definitions(get_session(), key=key)
    if not rows:
        raise DefinitionNotFound(f"no process definition with key {key!r}")
    return {"items": [d.to_json() for d in rows]}


@bp.get("/<int:definition_id>")
@bp.output(Definition)
def get_definition(definition_id: int) -> dict[str, Any]:
    """One definition version"""
    return DefinitionOut.from_model(deployments.get_definition(get_session(), definition_id)).to_json()


@bp.get("/<int:definition_id>/xml")
@bp.output(FileSchema(type="string", format="binary"), content_type="application/xml",
           description="the deployed BPMN file, byte for byte")
def source(definition_id: int) -> Response:
    """The BPMN source of a definition version"""
    definition = deployments.get_definition(get_session(), definition_id)
    response = Response(definition.source_xml, mimetype="application/xml")
    response.headers["Content-Type"] = "application/xml; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{definition.process_key}.bpmn"'
    return response


@bp.post("")
@unit_of_work
@bp.input(DeployIn, location="files", arg_name="form")
@bp.output(Definition, status_code=201, description="a new version")
@bp.doc(responses={200: {"description": "these exact bytes (BPMN and referenced forms) were deployed already: "
                                        "that version, with `unchanged` true",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Definition"}}}},
                   **problems(422, s422="not a valid or safe BPMN file (lint errors in `findings`), or the "
                                        "request is invalid")})
def deploy(form: DeployIn) -> tuple[dict[str, Any], int]:
    """Deploy a BPMN file (multipart field `file`)

    Lint errors refuse it; XML with a DTD, entities or deeper than 200 levels is refused unparsed.
    """
    upload = form.file
    if not upload.filename:
        raise InvalidInput("upload the BPMN file as multipart field 'file' with a file name")
    limit = state().settings.server.max_bpmn_bytes
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the BPMN file is larger than {limit} bytes ([server] max_bpmn_bytes)", limit=limit)
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    out = deployments.deploy_bytes(get_session(), ctx(), data, name, actor=actor(), now=now())
    return out.to_json(), 200 if out.unchanged else 201


@bp.post("/key/<key>/start")
@unit_of_work
@bp.input(StartIn, arg_name="body")
@bp.output(Instance, status_code=201)
@bp.doc(responses=problems(*COMMAND))
def start(key: str, body: StartIn) -> dict[str, Any]:
    """Start an instance of the latest version of a key"""
    return instances.start(get_session(), ctx(), key, body.variables or {}, actor=actor(), now=now(),
                           business_key=body.business_key).to_json()
