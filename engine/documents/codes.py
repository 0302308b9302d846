"""Verification codes printed on permits and notices: 16 characters of Crockford's base32 (80 random bits),
shown as four groups (`7K3Q-M9TX-2D4F-HW8R`). Reading forgives what people mistype: case, spaces, missing
hyphens, O for 0, I/L for 1."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
_CONFUSED = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalize(text: str) -> str | None:
    """The canonical form of a typed code, or None if it cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch not in " -").translate(_CONFUSED)
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return format_code(raw)
