"""Helpers for the bureau tests: valid credit codes and a complete profile."""

from __future__ import annotations

from typing import Any

from engine.bureau.uscc import check_character


def credit_code(serial: int, prefix: str = "91150100MA") -> str:
    """A valid code (check character computed) for test applicant number `serial`."""
    body = f"{prefix}{serial:07d}"
    return body + check_character(body)


def profile(code: str, **overrides: Any) -> dict[str, Any]:
    return {"credit_code": code, "name": "呼和浩特示范置业有限公司", "legal_representative": "张建国",
            "contact_name": "李晓梅", "contact_phone": "13804710001", "address": "呼和浩特市赛罕区敕勒川大街1号",
            **overrides}
