"""Small graph algorithms over flow nodes: reachability and strongly connected components (iterative)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def reachable(starts: Iterable[T], successors: Callable[[T], Iterable[T]],
              blocked: Callable[[T], bool] = lambda _: False) -> set[T]:
    """Everything reachable from `starts` (included); a blocked node is neither entered nor passed."""
    seen: set[T] = set()
    stack = [s for s in starts if not blocked(s)]
    while stack:
        item = stack.pop()
        if item in seen:
            continue
        seen.add(item)
        stack.extend(n for n in successors(item) if n not in seen and not blocked(n))
    return seen


def components(items: list[T], successors: Callable[[T], Iterable[T]]) -> list[list[T]]:
    """Tarjan's strongly connected components of the subgraph induced by `items` (edges leaving it ignored)."""
    inside = set(items)
    index: dict[T, int] = {}
    low: dict[T, int] = {}
    on_stack: set[T] = set()
    stack: list[T] = []
    result: list[list[T]] = []
    for root in items:
        if root in index:
            continue
        work = [(root, iter([n for n in successors(root) if n in inside]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter([n for n in successors(child) if n in inside])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member is node:
                        break
                result.append(component)
    return result


def sources_and_sinks(items: list[T], successors: Callable[[T], Iterable[T]]) -> tuple[list[list[T]], list[list[T]]]:
    """The components no other component of `items` enters (sources) and those that leave to none (sinks)."""
    comps = components(items, successors)
    owner = {member: i for i, comp in enumerate(comps) for member in comp}
    entered: set[int] = set()
    leaves: set[int] = set()
    for i, comp in enumerate(comps):
        for member in comp:
            for succ in successors(member):
                j = owner.get(succ)
                if j is not None and j != i:
                    entered.add(j)
                    leaves.add(i)
    return ([c for i, c in enumerate(comps) if i not in entered], [c for i, c in enumerate(comps) if i not in leaves])
