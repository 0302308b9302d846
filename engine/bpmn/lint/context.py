"""What lint knows beyond the BPMN file: department codes, the forms directory and the worker topics."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidInput


def _no_registry() -> frozenset[str] | None:
    return None


@dataclass(frozen=True)
class LintContext:
    """`None` means "unknown here": the rules that need it are skipped rather than guessed.

    `topics` is a callable so that engine/bpmn never imports workers/: the CLI passes one that reads
    `workers.ROUTERS`; deploy passes none (an unknown topic is only a warning and never blocks a deploy).
    """

    forms_dir: Path | None = None
    departments: frozenset[str] | None = None
    topics: Callable[[], frozenset[str] | None] = _no_registry


def load_departments(path: Path) -> frozenset[str] | None:
    """Department codes from processes/departments.toml (`[departments.<code>]`); None if the file is absent."""
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from exc
    departments = data.get("departments")
    if not isinstance(departments, dict):
        raise InvalidInput(f"{path}: expected [departments.<code>] tables")
    return frozenset(departments)
