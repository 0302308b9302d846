"""The values JSON gives back as they were: its scalar types, and a flat dict of them.

Shared by the history's payload normalisation (services/history.py) and the state checks and dumps (bpmn/): each
asks whether a value needs the slow way (an encode and parse, a walk, the serializer registry) or none.
"""

from __future__ import annotations

from typing import Any

# Exactly these types: a subclass (an enum member, a str subclass) comes back from JSON as something else.
SCALARS = frozenset({str, int, float, bool, type(None)})
_STR = frozenset({str})


def str_keys(value: dict[Any, Any]) -> bool:
    """Every key exactly a str (one C pass)."""
    return _STR.issuperset(map(type, value))


def flat(value: dict[Any, Any]) -> bool:
    """A dict of str keys and JSON scalars only, which a JSON round trip gives back with the same keys and values
    (in two C passes)."""
    return str_keys(value) and SCALARS.issuperset(map(type, value.values()))
