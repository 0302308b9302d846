"""/engine-rest/deployment: Camunda Modeler's deploy button (`POST /deployment/create`, multipart:
deployment-name, deployment-source, deploy-changed-only, one file part per resource) and its connection check
(`GET /deployment?maxResults=0`). Lint refusals come back as Camunda's ParseException with per-resource
errors and warnings (line, element)."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.engine_rest import shapes
from engine.engine_rest.blueprint import bp
from engine.engine_rest.errors import CamundaRestError, invalid_request
from engine.engine_rest.requests import paging
from engine.errors import InvalidBpmn
from engine.services import camunda_deployments
from engine.services.camunda_deployments import Resource

_FLAGS = ("deploy-changed-only", "enable-duplicate-filtering")


def _flag(name: str) -> bool:
    value = request.form.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise invalid_request(f"'{name}' must be true or false, not {value!r}")
    return value == "true"


def _parse_exception(exc: InvalidBpmn) -> CamundaRestError:
    """Camunda's ParseException: details = resource name -> {errors, warnings} with line and element ids."""
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    findings = exc.extensions.get("findings") or [{
        "file": exc.extensions.get("file") or "resource", "line": exc.extensions.get("line"), "severity": "error",
        "message_en": exc.detail, "element_id": exc.extensions.get("element_id"), "rule_id": "bpmn-parse"}]
    for finding in findings:
        report = details.setdefault(str(finding.get("file")), {"errors": [], "warnings": []})
        problem = {"message": f"{finding.get('rule_id')}: {finding.get('message_en')}", "line": finding.get("line"),
                   "column": 0, "mainElementId": finding.get("element_id"),
                   "elementIds": [finding["element_id"]] if finding.get("element_id") else []}
        report["errors" if finding.get("severity") == "error" else "warnings"].append(problem)
    return CamundaRestError(400, "ParseException", f"ENGINE-09005 Could not parse BPMN process. {exc.detail}",
                            details=details)


@bp.post("/deployment/create")
@unit_of_work
def create_deployment() -> dict[str, Any]:
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        raise invalid_request("deployment/create takes multipart/form-data (as Camunda Modeler sends it)")
    if (request.form.get("tenant-id") or "").strip():
        raise invalid_request("tenants are not supported by this engine: leave tenant-id empty")
    if (request.form.get("deployment-activation-time") or "").strip():
        raise invalid_request("deployment-activation-time is not supported: definitions are active when deployed")
    resources = [Resource(storage.filename or field, storage.read())
                 for field, storage in request.files.items(multi=True)]
    changed_only, duplicates = (_flag(name) for name in _FLAGS)
    try:
        out = camunda_deployments.create(
            get_session(), ctx(), resources, name=request.form.get("deployment-name") or None,
            source=request.form.get("deployment-source") or None, changed_only=changed_only,
            duplicate_filtering=duplicates, actor=actor(), now=now())
    except InvalidBpmn as exc:
        raise _parse_exception(exc) from exc
    return shapes.deployment(out)


@bp.get("/deployment")
def list_deployments() -> list[dict[str, Any]]:
    first, most = paging()
    rows = camunda_deployments.list_deployments(get_session(), name=request.args.get("name") or None,
                                                offset=first, limit=most)
    return [shapes.deployment(d) for d in rows]


@bp.get("/deployment/count")
def count_deployments() -> dict[str, int]:
    return {"count": len(camunda_deployments.list_deployments(get_session(),
                                                             name=request.args.get("name") or None))}


@bp.get("/deployment/<deployment_id>")
def get_deployment(deployment_id: str) -> dict[str, Any]:
    return shapes.deployment(camunda_deployments.get(get_session(), deployment_id))
