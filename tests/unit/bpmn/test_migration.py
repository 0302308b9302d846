"""engine/bpmn/migration.py on its own: what refuses a move, and what a move keeps (DESIGN.md §5: Spiff's
migration resets ready and waiting tasks, timer due times and task data included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.bpmn import runtime, timer_ops
from engine.bpmn.canonical import canonical_state
from engine.bpmn.migration import active_elements, check_map, migrate, problems_for
from engine.bpmn.parsing import ParsedProcess, load_process
from engine.bpmn.serialization import dump_workflow, load_workflow
from engine.errors import InvalidInput, MigrationRefused
from tests.conftest import DATA

V1 = (DATA / "migration" / "migration_demo_v1.bpmn").read_bytes()
V2 = (DATA / "migration" / "migration_demo_v2.bpmn").read_bytes()
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _parsed(data: bytes) -> ParsedProcess:
    return load_process(data, file="migration_demo.bpmn")


def _at_review() -> tuple[ParsedProcess, object]:
    v1 = _parsed(V1)
    workflow = runtime.new_workflow(v1, {"project": "示例"}, NOW)
    runtime.advance(workflow, NOW)
    return v1, workflow


def test_a_move_keeps_ids_data_and_due_times_that_spiff_would_reset() -> None:
    _v1, workflow = _at_review()
    before = {e.spiff_task_id: e for e in active_elements(workflow)}
    dues = {t.bpmn_id: t.due_at for t in timer_ops.waiting_timers(workflow)}
    outcome = migrate(workflow, _parsed(V2), {}, NOW + timedelta(days=3), target_label="v2")
    assert {b.spiff_task_id for b, _a in outcome.moved} == set(before)
    # Spiff alone would recompute the due times from the migration instant (3 days later) and the new P8D.
    assert {t.bpmn_id: t.due_at for t in timer_ops.waiting_timers(workflow)} == dues
    assert all(t.data == {"project": "示例"} for t in workflow.get_tasks() if t.task_spec.name == "review_land")
    v2 = _parsed(V2)
    reloaded = load_workflow(dump_workflow(workflow), v2.spec, v2.subprocess_specs)
    assert canonical_state(reloaded) == canonical_state(workflow)


def test_a_waiting_timer_without_counterpart_refuses_the_move_and_changes_nothing() -> None:
    _v1, workflow = _at_review()
    renamed = _parsed(V2.replace(b"deemed_land", b"deemed_land_v2"))
    problems = problems_for(workflow, renamed, {}, target_label="v3")
    assert problems == ["deemed_land (waiting timer) would be lost: map it to an element of v3"]
    state = canonical_state(workflow)
    with pytest.raises(MigrationRefused) as refused:
        migrate(workflow, renamed, {}, NOW, target_label="v3")
    assert refused.value.problems == problems
    assert canonical_state(workflow) == state
    assert problems_for(workflow, renamed, {"deemed_land": "deemed_land_v2"}, target_label="v3") == []
    assert problems_for(workflow, renamed, {"deemed_land": "record_deemed"}, target_label="v3") == [
        "deemed_land (waiting timer) is a BoundaryEvent but 'record_deemed' in v3 is a ScriptTask"]


def test_the_map_names_elements_of_both_versions() -> None:
    v1, v2 = _parsed(V1), _parsed(V2)
    assert check_map({"review_final": "final_review"}, v1, v2) == {"review_final": "final_review"}
    with pytest.raises(InvalidInput, match="'final_review' is not an element of the version migrated from"):
        check_map({"final_review": "final_review"}, v1, v2)
    with pytest.raises(InvalidInput, match="map entries are"):
        check_map({"review_final": 3}, v1, v2)  # type: ignore[dict-item]
