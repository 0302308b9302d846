"""Garbage-collector thresholds for engine processes (serve, worker, scheduler, simulate).

A command allocates tens of thousands of short-lived objects (ORM rows, Spiff task dicts, JSON), and the
workflow cache keeps many long-lived ones, so CPython's default thresholds (700, 10, 10) run a young
collection every few hundred allocations and scan the cached workflows in older generations again and again:
~15% of a command's CPU on approval_9 (bench/README.md). Collecting less often costs a little memory (cyclic
garbage lives a few thousand allocations longer) and no correctness: reference counting still frees everything
that is not in a cycle at once.

The middle threshold bounds the pause, not the work: a generation-1 collection scans everything that survived up
to `THRESHOLDS[1]` young collections of up to `THRESHOLDS[0]` allocations each (in a server, mostly the cached
workflows' objects the commands created), and every survivor is scanned there once whatever the threshold. At 50
such a collection took up to 242 ms in `approvals serve` under bench/clerks_http.py (PostgreSQL, 60 s): a
request's p99 stalls behind it. At 10 the longest was 69 ms, with the same total GC time (~0.6 s per minute) and
the same `simulate --projects 100` CPU.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)


def tune() -> None:
    """Raise the thresholds (never lower them: a process that set its own keeps the larger)."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(current, THRESHOLDS)))
