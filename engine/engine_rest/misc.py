"""Small Camunda endpoints clients call to find the engine, and a clear 404 for everything outside the subset."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.engine_rest.blueprint import bp
from engine.engine_rest.errors import CamundaRestError

# The Camunda 7 REST API level this layer imitates (Camunda Modeler reads it to choose its lint rules).
API_LEVEL = "7.22.0"


@bp.get("/engine")
def engines() -> list[dict[str, Any]]:
    return [{"name": "default"}]


@bp.get("/version")
def version() -> dict[str, str]:
    return {"version": API_LEVEL}


@bp.route("/<path:unsupported>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def not_in_subset(unsupported: str) -> Any:
    raise CamundaRestError(404, "NotFoundException",
                           f"{request.method} /engine-rest/{unsupported} is not part of this engine's Camunda 7 "
                           "subset (README: Camunda 7 compatibility)")
