"""/api/process-definitions: list, get, deploy, start."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.requests import json_body, object_field
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.dto import DefinitionOut
from engine.errors import InvalidInput
from engine.services import deployments, instances

bp = Blueprint("definitions", __name__, url_prefix="/api/process-definitions")


@bp.get("")
def list_definitions() -> dict[str, Any]:
    latest = request.args.get("latest", "false").lower() == "true"
    rows = deployments.list_definitions(get_session(), key=request.args.get("key"), latest_only=latest)
    return {"items": [d.to_json() for d in rows]}


@bp.get("/<int:definition_id>")
def get_definition(definition_id: int) -> dict[str, Any]:
    return DefinitionOut.from_model(deployments.get_definition(get_session(), definition_id)).to_json()


@bp.post("")
@unit_of_work
def deploy() -> tuple[dict[str, Any], int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("upload the BPMN file as multipart field 'file'")
    data = upload.read()
    out = deployments.deploy_bytes(get_session(), ctx(), data, upload.filename.rsplit("/", 1)[-1],
                                   actor=actor(), now=now())
    return out.to_json(), 200 if out.unchanged else 201


@bp.post("/key/<key>/start")
@unit_of_work
def start(key: str) -> tuple[dict[str, Any], int]:
    body = json_body()
    business_key = body.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise InvalidInput("businessKey must be a string")
    out = instances.start(get_session(), ctx(), key, object_field(body, "variables"), actor=actor(), now=now(),
                          business_key=business_key)
    return out.to_json(), 201
