"""JSON API blueprints: parse the request, call a service, return a DTO as JSON."""

from __future__ import annotations

from flask import Flask

from engine.api import access, audit, definitions, diagrams, history, instances, problems, reports, session, tasks
from engine.api import external_tasks, incidents, monitoring, openapi, request_ids, requests
from engine.api import db_faults, designers


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = requests.BoundedIntConverter  # before any rule is added
    request_ids.init_app(app)  # first: every later hook and error has the request id
    session.init_app(app)
    access.init_app(app)
    problems.init_app(app)
    db_faults.init_app(app)  # a database down, locked or full: 503 / 507, not 500 (issue 13)
    openapi.init_app(app)  # type: ignore[arg-type]  # create_app makes an APIFlask
    app.register_blueprint(monitoring.bp)
    for module in (definitions, instances, tasks, history, diagrams, external_tasks, incidents, audit, reports):
        app.register_blueprint(module.bp)
    app.register_blueprint(designers.bp)  # version diffs and instance migration (issue 11)
    from engine.api import bureau

    app.register_blueprint(bureau.bp)  # applicant profiles, applications, enforcement feed, obligations (issue 7)
