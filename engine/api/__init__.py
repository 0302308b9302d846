"""JSON API blueprints: parse the request, call a service, return a DTO as JSON."""

from __future__ import annotations

from flask import Flask

from engine.api import access, audit, definitions, diagrams, history, instances, problems, reports, session, tasks
from engine.api import external_tasks, incidents
from engine.api import designers


def init_app(app: Flask) -> None:
    session.init_app(app)
    access.init_app(app)
    problems.init_app(app)
    for module in (definitions, instances, tasks, history, diagrams, external_tasks, incidents, audit, reports):
        app.register_blueprint(module.bp)
    app.register_blueprint(designers.bp)  # version diffs and instance migration (issue 11)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}
