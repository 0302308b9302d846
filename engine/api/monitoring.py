"""Health and metrics: `GET /api/health` (public) and `GET /metrics` (Prometheus text format).

/metrics is for admins' tokens, or for anyone when `[server] metrics_public = true` (a scraper on a private
network; engine/api/access.py). Each process exports its own series (engine/metrics.py).
"""

from __future__ import annotations

from apiflask import APIBlueprint
from apiflask.schemas import FileSchema
from flask import Response

from engine import metrics
from engine.api.schemas.base import Health

bp = APIBlueprint("monitoring", __name__, tag="Monitoring")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@bp.get("/api/health")
@bp.output(Health)
def health() -> dict[str, str]:
    """The server answers"""
    return {"status": "ok"}


@bp.get("/metrics")
@bp.output(FileSchema(type="string", format="binary"), content_type="text/plain")
def prometheus() -> Response:
    """Metrics in the Prometheus text format

    Commands by endpoint and outcome, conflicts re-applied, service jobs fetched / completed / failed /
    ended by a BPMN error, HTTP errors by status, timers fired and their lag (engine clock), scheduler ticks.
    """
    return Response(metrics.render(), content_type=PROMETHEUS_TEXT)
