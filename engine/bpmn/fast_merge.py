"""Task data inheritance without the merge loop where its answer is known (SpiffWorkflow 3.2 `DeepMerge.merge`).

Why: `Task._inherit_data` merges the parent's data into the task's (`DeepMerge.merge(task.data, parent.data)`)
every time a task is updated, and a waiting task (a boundary timer, a catching event, a join) is updated after
every step: stock walks every variable in Python (`key in a`, `a[key] == b[key]`, a `path` list per nested dict)
to find nothing to change. ~2% of `simulate --projects 100` (py-spy), where task data holds a whole application.

`merge(a, b)` answers as stock for two plain dicts in two cases, and leaves every other call to stock:
- `a == b` (one comparison in C): stock finds every key of `b` in `a` with an equal value (the same test: `==`,
  which compares the items of containers with an identity shortcut, as `dict.__eq__` does) and changes nothing;
- `a` empty: stock sets every key of `b`, a shallow copy for a dict, list or set value, the value itself otherwise,
  in `b`'s order; so does this, into the same `a`.
Both return `a`, as stock does. tests/unit/bpmn/test_fast_merge.py compares every merge of the corpus's runs with
stock's on copies of its arguments, and the cases above. `install()`/`uninstall()` as in fast_scan.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from SpiffWorkflow.util.deep_merge import DeepMerge

_STOCK = DeepMerge.merge
_COPIED = (dict, list, set)


def merge(a: Any, b: Any, path: list[str] | None = None) -> Any:
    if type(a) is dict and type(b) is dict:
        if not a:
            for key, value in b.items():
                a[key] = copy(value) if isinstance(value, _COPIED) else value
            return a
        if a == b:
            return a
    return _STOCK(a, b, path)


def stock_merge(a: Any, b: Any, path: list[str] | None = None) -> Any:
    return _STOCK(a, b, path)


def install() -> None:
    DeepMerge.merge = staticmethod(merge)  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    DeepMerge.merge = staticmethod(_STOCK)  # type: ignore[method-assign,assignment]
