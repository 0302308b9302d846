"""State-only workflow JSON: the spec is cached per definition version and never stored per instance.

Half of a full Spiff serialization is the spec; leaving it out makes state ~2x smaller and loads faster.
The script engine is not serialized: it is re-attached on every load.
"""

from __future__ import annotations

import json
import os
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn import task_ids
from engine.bpmn.external_tasks import EXTERNAL_TASK_CONVERTERS
from engine.bpmn.fast_dump import FastStateDict
from engine.bpmn.incremental_dump import IncrementalDump
from engine.bpmn.script_env import make_script_engine
from engine.bpmn.timers import TIMER_CONVERTERS

SERIALIZER_VERSION = VERSION


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Spiff's workflow converter without the specs; `from_dict` takes them from the caller's cache."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: BpmnProcessSpec | None = None,
                  subprocess_specs: dict[str, BpmnProcessSpec] | None = None) -> BpmnWorkflow:
        if spec is None:
            raise ValueError("state-only workflows are loaded with their definition's spec")
        dct = dict(dct)
        dct["spec"] = None
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    config.update(EXTERNAL_TASK_CONVERTERS)
    config.update(TIMER_CONVERTERS)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    task_ids.register(serializer.registry)  # a task id in data or events converts as the UUID it equals
    return serializer


# A pure, stateless converter registry (declarative, like a Blueprint): safe to share.
_SERIALIZER = _make_serializer()


def registered_types() -> frozenset[type]:
    """Types the serializer registry converts and restores (datetime, Decimal, ...): they survive a reload."""
    return _REGISTERED_TYPES


_REGISTERED_TYPES = frozenset(_SERIALIZER.registry.typenames)


_FAST = FastStateDict(_SERIALIZER.registry)  # the same dict as _SERIALIZER.to_dict, ~2x faster (fast_dump.py)


def state_dict(workflow: BpmnWorkflow) -> dict[str, Any]:
    if _FAST.fast and type(workflow) is BpmnWorkflow:
        return _FAST.state_dict(workflow)
    return _SERIALIZER.to_dict(workflow)


_INCREMENTAL = IncrementalDump(_FAST, BpmnWorkflowSerializer.VERSION_KEY)


class DumpMismatch(AssertionError):
    """The incremental dump differs from the full one (only raised with APPROVALS_CHECK_DUMPS=1)."""


def dump_workflow(workflow: BpmnWorkflow) -> str:
    # The same text, with the fragments of tasks unchanged since this object's last dump reused (incremental_dump.py).
    if _FAST.fast and type(workflow) is BpmnWorkflow:
        text = _INCREMENTAL.dump_text(workflow, SERIALIZER_VERSION)
        # The test suite sets APPROVALS_CHECK_DUMPS=1 (tests/conftest.py): every dump of every test, in its process
        # and in the server and worker processes it starts, is compared with the full dump.
        if os.environ.get("APPROVALS_CHECK_DUMPS") == "1" and text != full_dump(workflow):
            raise DumpMismatch("the incremental state dump differs from the full dump")
        return text
    return full_dump(workflow)


def full_dump(workflow: BpmnWorkflow) -> str:
    dct = state_dict(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = SERIALIZER_VERSION
    # The same text without the encoder's cycle bookkeeping (~1/3 of the encoding): state dicts are trees.
    # ASCII (non-ASCII characters as \u escapes): a Hohhot state holds Chinese text (names, opinions), and a str
    # with one non-ASCII character is stored two bytes per character, so every command encoded its ~170 KB to UTF-8
    # binding it (~290 us) and the next decoded it in its locked read (~300 us); an ASCII str does either in ~10 us.
    # The text is ~7% longer; older rows written with the characters as they are load the same.
    return json.dumps(dct, separators=(",", ":"), check_circular=False)


def load_workflow(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    dct = json.loads(state)
    version = dct.pop(BpmnWorkflowSerializer.VERSION_KEY, SERIALIZER_VERSION)
    if version != SERIALIZER_VERSION and version in MIGRATIONS:
        MIGRATIONS[version](dct)
    workflow = _SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = make_script_engine()
    return workflow
