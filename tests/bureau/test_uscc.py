"""GB 32100-2015 unified social credit codes: published codes validate; every single-character change of a
valid code is caught (the check character's purpose); the error says what is wrong, in Chinese too."""

from __future__ import annotations

import pytest

from engine.bureau import uscc

PUBLISHED = ["91110000710925462X", "9144030071526726XG", "91330100716105852F", "91350100M000100Y43"]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_validate(code: str) -> None:
    assert uscc.validate(code) == code
    assert uscc.validate(f" {code.lower()} ") == code  # normalized


def test_weights_are_powers_of_three_mod_31() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", PUBLISHED)
def test_any_single_substitution_is_detected(code: str) -> None:
    for position in range(18):
        for ch in uscc.ALPHABET:
            if ch == code[position]:
                continue
            changed = code[:position] + ch + code[position + 1:]
            assert not uscc.is_valid(changed), changed


@pytest.mark.parametrize("code, zh", [
    ("9111000071092546", "应为18位"),
    ("91110000710925462Z", "不允许的字符"),
    ("911100007109254O2X", "不允许的字符"),
    ("91AB0000710925462X", "行政区划"),
    ("Z1110000710925462X", "不允许的字符"),
    ("B1110000710925462X", "登记管理部门代码"),
    ("91110000710925462Y", "校验位错误（应为 X）"),
])
def test_bad_codes_say_what_is_wrong(code: str, zh: str) -> None:
    with pytest.raises(uscc.InvalidCreditCode) as error:
        uscc.validate(code)
    assert zh in error.value.message_zh


def test_a_non_string_is_refused() -> None:
    with pytest.raises(uscc.InvalidCreditCode):
        uscc.validate(91110000710925462)
