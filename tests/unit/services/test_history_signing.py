"""History's hashes and signatures are the same text as their plain definitions (issue 14 made them cheaper:
prebuilt JSON encoders, a memo of the last instant formatted, one head signature per transaction)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from engine.services import history

KEY = b"k" * 32
AT = datetime(2026, 11, 27, 8, 0, 1, 123456, tzinfo=timezone.utc)
PAYLOADS: list[Any] = [
    {},
    {"task_id": "t", "bpmn_id": "review_1", "data": {"review_1": "approve", "note": "是的 ✓", "n": [1, 2.5, None]}},
    {"due_at": AT + timedelta(days=5), "b": True, "a": {"z": 1, "y": {"x": "\u2028"}}},
    {"object": object.__name__, "tuple": (1, "two"), "set_as_text": str({1})},
]


def test_format_at_answers_each_instant_even_when_called_in_turn() -> None:
    east = timezone(timedelta(hours=8))
    later = AT + timedelta(microseconds=1)
    for at in [AT, AT, later, AT.astimezone(east), later, AT]:
        assert history.format_at(at) == at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_canonical_texts_are_json_dumps_with_the_same_options() -> None:
    def default(obj: Any) -> Any:
        return history.format_at(obj) if isinstance(obj, datetime) else str(obj)

    for payload in PAYLOADS:
        assert history.canonical_default(payload) == json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)
        body = history.jsonable(payload)
        assert body == json.loads(history.canonical_default(payload))
        assert history.canonical(body) == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_signatures_are_hmac_sha256_of_the_documented_messages() -> None:
    digest = history.event_hash("i", 3, "task:completed", AT, "clerk", history.jsonable(PAYLOADS[1]), history.GENESIS)
    assert history.sign_head(KEY, "i", 3, digest) == hmac.new(KEY, f"i|3|{digest}".encode(), hashlib.sha256).hexdigest()
    assert history.sign_checkpoint(KEY, "i", 3, digest) == hmac.new(
        KEY, f"checkpoint|i|3|{digest}".encode(), hashlib.sha256).hexdigest()
