"""The approval engine service. `create_app` is the only wiring point."""

from __future__ import annotations

from apiflask import APIFlask
from flask import Flask

from engine.app_state import AppState, build_state
from engine.clock import Clock
from engine.config import Settings, load_settings


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               state: AppState | None = None) -> Flask:
    settings = settings or (state.settings if state else load_settings())
    from engine.api.openapi import APP_OPTIONS
    from engine.api.requests import ApiRequest

    # APIFlask is Flask plus the OpenAPI document generated from the API blueprints (engine/api/openapi.py).
    app = APIFlask(__name__, **APP_OPTIONS)
    app.request_class = ApiRequest
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["engine"] = state or build_state(settings, clock)

    from engine import api, engine_rest, web

    api.init_app(app)
    engine_rest.init_app(app)  # Camunda 7 compatibility layer (issue 12)
    web.init_app(app)
    return app
