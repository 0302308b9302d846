"""Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters, the last a check character.

Layout: registration authority (1) · organization category (1) · administrative division (6 digits) ·
organization code (9, GB 11714) · check character (1). Characters come from "0123456789ABCDEFGHJKLMNPQRTUWXY"
(no I, O, S, V, Z), valued 0–30 in that order. Weights W_i = 3^(i-1) mod 31 for positions 1–17, and
check = (31 − Σ C_i·W_i mod 31) mod 31.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")  # 机构编制 … 工商 (9), 中央军委 (A), 农业 (N), 其他 (Y)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class InvalidCreditCode(ValueError):
    """Carries a Chinese message for the applicant and an English one for the log."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must use the code's alphabet)."""
    bad = sorted({ch for ch in first17 if ch not in VALUES})
    if len(first17) != 17 or bad:
        raise InvalidCreditCode("统一社会信用代码前17位格式不正确", f"need 17 characters of the code's alphabet, got {first17!r}")
    total = sum(VALUES[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    return code.strip().upper()


def validate(code: object) -> str:
    """The normalized code, or `InvalidCreditCode` saying what is wrong (length, characters, check character)."""
    if not isinstance(code, str):
        raise InvalidCreditCode("统一社会信用代码必须是文本", "the credit code must be a string")
    text = normalize(code)
    if len(text) != 18:
        raise InvalidCreditCode(f"统一社会信用代码应为18位，实际为{len(text)}位",
                                f"a credit code has 18 characters, not {len(text)}")
    if not _SHAPE.match(text):
        raise InvalidCreditCode("统一社会信用代码含有不允许的字符（不使用 I、O、S、V、Z；第3至8位为行政区划数字代码）",
                                "characters outside the code's alphabet, or a non-numeric division code")
    if text[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidCreditCode(f"登记管理部门代码“{text[0]}”无效", f"unknown registration authority {text[0]!r}")
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidCreditCode(f"统一社会信用代码校验位错误（应为 {expected}）",
                                f"check character is {text[17]!r}, expected {expected!r}")
    return text


def is_valid(code: object) -> bool:
    try:
        validate(code)
    except InvalidCreditCode:
        return False
    return True
