"""Department codes and Chinese names from processes/departments.toml (the candidate groups of user tasks)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from engine.errors import ConfigError


def load_departments(processes_dir: Path) -> dict[str, str]:
    """code -> Chinese name, in file order. A missing file means no departments (a clear error on use)."""
    path = processes_dir / "departments.toml"
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = data.get("departments", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [departments] must be a table")
    return {code: str(entry.get("name", code)) if isinstance(entry, dict) else str(code)
            for code, entry in table.items()}
