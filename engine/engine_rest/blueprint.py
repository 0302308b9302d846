"""The one /engine-rest blueprint; the route modules of this package add their views to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("engine_rest", __name__, url_prefix="/engine-rest")
