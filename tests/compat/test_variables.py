"""Camunda's typed variables both ways (engine/engine_rest/variables.py)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.engine_rest.errors import CamundaRestError
from engine.engine_rest.variables import from_camunda, to_camunda


@pytest.mark.parametrize(("typed", "plain"), [
    ({"value": "x", "type": "String"}, "x"),
    ({"value": 7, "type": "Integer"}, 7),
    ({"value": "7", "type": "integer"}, 7),
    ({"value": 2**40, "type": "Long"}, 2**40),
    ({"value": 12, "type": "Short"}, 12),
    ({"value": 1, "type": "Double"}, 1.0),
    ({"value": "true", "type": "Boolean"}, True),
    ({"value": None, "type": "Null"}, None),
    ({"value": None, "type": "String"}, None),
    ({"value": '{"a": [1, {"b": null}]}', "type": "Json"}, {"a": [1, {"b": None}]}),
    ({"value": "[1, 2]", "type": "Object",
      "valueInfo": {"objectTypeName": "java.util.ArrayList", "serializationDataFormat": "application/json"}}, [1, 2]),
    ({"value": "2026-03-02T09:00:00.000+0800", "type": "Date"}, "2026-03-02T09:00:00.000+0800"),
    ({"value": "2026-03-02T01:00:00Z", "type": "date"}, "2026-03-02T01:00:00.000+0000"),
    ({"value": "2026-03-02T09:00:00.123456+08:00", "type": "Date"}, "2026-03-02T09:00:00.123+0800"),
    ({"value": {"nested": True}}, {"nested": True}),  # untyped: the JSON value as it is
])
def test_typed_to_plain(typed: dict[str, Any], plain: Any) -> None:
    assert from_camunda({"v": typed}) == {"v": plain}


@pytest.mark.parametrize(("typed", "message"), [
    ({"value": 2**31, "type": "Integer"}, "to type Integer"),
    ({"value": True, "type": "Integer"}, "to type Integer"),
    ({"value": "abc", "type": "Double"}, "to type Double"),
    ({"value": "yes", "type": "Boolean"}, "to type Boolean"),
    ({"value": 5, "type": "String"}, "to type String"),
    ({"value": "{broken", "type": "Json"}, "Cannot deserialize"),
    ({"value": "rO0AB", "type": "Object", "valueInfo": {"serializationDataFormat":
                                                         "application/x-java-serialized-object"}}, "application/json"),
    ({"value": "aGk=", "type": "Bytes"}, "not supported"),
    ({"value": "2026-03-02", "type": "Date"}, "to type Date"),
    ({"value": 1, "type": "Decimal"}, "Unsupported value type"),
    ("bare", "must be an object"),
])
def test_bad_typed_values_are_a_400(typed: Any, message: str) -> None:
    with pytest.raises(CamundaRestError) as caught:
        from_camunda({"v": typed})
    assert caught.value.status == 400 and caught.value.type == "InvalidRequestException"
    assert message in caught.value.message


def test_plain_to_typed_and_back() -> None:
    plain = {"s": "text", "i": 3, "l": -(2**40), "d": 0.5, "b": False, "n": None, "j": {"k": [1, "二"]},
             "date": "2026-03-02T09:00:00.000+0800", "looks_like_date": "2026-03-02"}
    typed = to_camunda(plain)
    assert {k: v["type"] for k, v in typed.items()} == {
        "s": "String", "i": "Integer", "l": "Long", "d": "Double", "b": "Boolean", "n": "Null", "j": "Json",
        "date": "Date", "looks_like_date": "String"}
    assert typed["j"]["value"] == '{"k": [1, "二"]}'
    assert from_camunda(typed) == plain
    assert set(to_camunda(plain, ["s", "missing"])) == {"s"}
