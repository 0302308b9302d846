"""Template filters: dates in Asia/Shanghai, masked personal numbers, department and status labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app, g

from engine.auth.masking import mask_value
from engine.calendar import SHANGHAI
from engine.web.i18n import gettext, locale

STATUS_LABELS = {"running": "办理中", "suspended": "已挂起", "completed": "已办结", "terminated": "已终止",
                 "open": "待办", "cancelled": "已取消"}
LIGHT_LABELS = {"green": "正常", "yellow": "临期", "red": "超期"}


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if isinstance(value, datetime) else None


def local_datetime(value: Any) -> str:
    when = _as_datetime(value)
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if when else "—"


def local_date(value: Any) -> str:
    when = _as_datetime(value)
    if when is None:
        return "—"
    local = when.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日" if locale() == "zh-CN" else local.strftime("%Y-%m-%d")


def masked(value: Any) -> Any:
    """Mask ID-card and phone numbers unless the viewer's role needs them (set per request in g.unmasked)."""
    return value if g.get("unmasked") else mask_value(value)


def department_name(code: str) -> str:
    names: dict[str, str] = current_app.extensions["web"].departments
    name = names.get(code, code)
    return gettext(name) if locale() == "en" else name


def status_label(status: str) -> str:
    return gettext(STATUS_LABELS.get(status, status))


def light_label(light: str | None) -> str:
    return gettext(LIGHT_LABELS.get(light or "", "—")) if light else "—"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local_datetime=local_datetime, local_date=local_date, masked=masked,
                                 department=department_name, status_label=status_label, light_label=light_label)
