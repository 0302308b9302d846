"""Mask ID-card and mobile phone numbers in pages, API payloads and logs (个人信息保护).

Resident ID numbers (18 characters, last may be X) keep their 6-digit region and last 4 characters;
mainland mobile numbers keep the first 3 and last 4 digits. Detection is by pattern, so a number is masked
wherever it appears (a form field, a free-text opinion, a log line), not only under known field names.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_value(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked (keys are left alone)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 11:
        masked = mask_text(str(value))
        return masked if masked != str(value) else value
    return value


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in the formatted message before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (default: the root logger), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
