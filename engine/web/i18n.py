"""Page language: zh-CN by default, English on request (`/lang/en`), remembered in the session.

Templates and views write the Chinese text and wrap it in `_()`; `catalog_en.EN` holds the English for each
string (tests/web/test_i18n.py fails when a wrapped string has no English). A Python dict instead of
gettext .po/.mo files keeps the catalog reviewable and needs no compile step.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, g, has_request_context, session

from engine.web.catalog_en import EN

LOCALES = ("zh-CN", "en")
DEFAULT = "zh-CN"


def locale() -> str:
    if not has_request_context():
        return DEFAULT
    if "locale" not in g:
        chosen = session.get("lang")
        g.locale = chosen if chosen in LOCALES else current_app.config.get("DEFAULT_LOCALE", DEFAULT)
    return str(g.locale)


def gettext(text: str, **values: Any) -> str:
    """The text in the page language, with `%(name)s` placeholders filled from `values`."""
    translated = EN.get(text, text) if locale() == "en" else text
    return translated % values if values else translated


def init_app(app: Flask) -> None:
    wanted = os.environ.get("APPROVALS_LOCALE", DEFAULT)
    app.config["DEFAULT_LOCALE"] = wanted if wanted in LOCALES else DEFAULT
    app.jinja_env.globals.update(_=gettext, locale=locale)
