"""What services need beyond a session: settings, the audit key and the app-owned spec cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bpmn.parsing import ParsedProcess, load_process
from engine.config import Settings
from engine.models import ProcessDefinition
from engine.services.calendars import CalendarCache
from engine.services.job_signal import JobSignal
from engine.services.workflow_cache import WorkflowCache


class SpecCache:
    """Parsed specs per definition version (immutable once deployed), bounded LRU, owned by the app."""

    def __init__(self, maxsize: int = 64) -> None:
        self._items: OrderedDict[int, ParsedProcess] = OrderedDict()
        self._forms: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, definition: ProcessDefinition) -> ParsedProcess:
        with self._lock:
            parsed = self._items.get(definition.id)
            if parsed is not None:
                self._items.move_to_end(definition.id)
                return parsed
        parsed = load_process(definition.source_xml.encode("utf-8"), file=definition.file_name)
        self.put(definition.id, parsed)
        return parsed

    def cached(self, definition_id: int) -> ParsedProcess | None:
        """The parsed spec if this version is cached (the command path then needs no definition row)."""
        with self._lock:
            parsed = self._items.get(definition_id)
            if parsed is not None:
                self._items.move_to_end(definition_id)
            return parsed

    def forms(self, definition_id: int, read: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The version's form snapshot (immutable once deployed, like its spec): `read()` once, then cached.
        Callers must not change what it returns."""
        with self._lock:
            if definition_id in self._forms:
                self._forms.move_to_end(definition_id)
                return self._forms[definition_id]
        forms = read()
        with self._lock:
            self._forms[definition_id] = forms
            while len(self._forms) > self.maxsize:
                self._forms.popitem(last=False)
        return forms

    def put(self, definition_id: int, parsed: ParsedProcess) -> None:
        with self._lock:
            self._items[definition_id] = parsed
            self._items.move_to_end(definition_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)


@dataclass
class EngineContext:
    settings: Settings
    hmac_key: bytes
    specs: SpecCache = field(default_factory=SpecCache)
    calendars: CalendarCache = field(default_factory=CalendarCache)  # working-day calendar with loaded years
    job_signal: JobSignal = field(default_factory=JobSignal)  # wakes local fetch-and-lock long polls
    workflows: WorkflowCache = field(default_factory=WorkflowCache)  # loaded workflows between commands

    @property
    def forms_dir(self) -> Path:
        return self.settings.path(self.settings.paths.forms)

    @property
    def processes_dir(self) -> Path:
        return self.settings.path(self.settings.paths.processes)
