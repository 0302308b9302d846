"""/engine-rest: a Camunda-7-compatible subset of Camunda's REST API over the same services as /api (issue 12),
so unmodified Camunda workers and Camunda Modeler's deploy button work against this engine. Camunda's JSON shapes,
status codes, typed variables and error body; our bearer tokens or HTTP Basic; the same role table
(engine/auth/routes.py) and scoping (engine/auth/policy.py). The README's compatibility table lists what is
supported, partly supported or not."""

from __future__ import annotations

from flask import Flask

from engine.engine_rest import deployments, errors, external_tasks, misc, processes, tasks  # noqa: F401 (routes)
from engine.engine_rest.blueprint import bp

errors.register(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
