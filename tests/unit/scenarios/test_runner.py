"""The scenario runner against the real engine: working-day offsets, the autopilot, timers on the simulated clock,
held and scripted jobs, admin suspension, expectations that fail with a reason, and the coverage report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from engine.config import Settings, load_settings
from engine.scenarios.coverage import coverage_of
from engine.scenarios.runner import ScenarioResult, Workbench, run_scenario
from engine.scenarios.spec import read_scenario
from tests.conftest import DATA, ROOT

DEEMED = DATA / "bpmn" / "timer_deemed_review.bpmn"  # review_fire: 5 WD, deemed_fire → record_deemed


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    settings: Settings = load_settings(ROOT / "config.toml", environ={})
    with Workbench(settings, workdir=tmp_path_factory.mktemp("bench")) as workbench:
        yield workbench


def _run(bench: Workbench, tmp_path: Path, text: str, name: str = "case.toml") -> ScenarioResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return run_scenario(read_scenario(path), bench)


def test_a_silent_review_is_deemed_at_the_end_of_its_fifth_working_day(bench: Workbench, tmp_path: Path) -> None:
    result = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[expect]
state = "completed"
ends = ["end_deemed"]
reached = ["record_deemed"]
deemed = ["review_fire"]
working_days = 5
variables = {{ deemed = true }}
''')
    assert result.ok, (result.error, result.failures)
    assert result.outcome is not None and result.outcome.flows == {"flow_start_review", "flow_deemed",
                                                                   "flow_deemed_end"}


def test_the_autopilot_answers_one_second_before_the_due(bench: Workbench, tmp_path: Path) -> None:
    result = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[autopilot]
answer = "at_due"
[expect]
ends = ["end_reviewed"]
deemed = []
working_days = 5
''')
    assert result.ok, (result.error, result.failures)


def test_until_day_stops_the_clock_and_steps_act_on_their_day(bench: Workbench, tmp_path: Path) -> None:
    running = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
until_day = 4
[expect]
state = "running"
open_tasks = ["review_fire"]
working_days = 4
''')
    assert running.ok, (running.error, running.failures)
    answered = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[[steps]]
day = 3
complete = "review_fire"
as = "zhang.hc"
[expect]
ends = ["end_reviewed"]
working_days = 3
''')
    assert answered.ok, (answered.error, answered.failures)


def test_held_jobs_wait_for_their_step_and_scripted_topics_answer_alone(bench: Workbench, tmp_path: Path) -> None:
    approve = '{ decision = "approve", opinion = "同意" }'
    held = _run(bench, tmp_path, f'''
process = "sample_review"
[start]
data = {{ project = "项目" }}
[workers]
hold = ["permit.issue"]
[autopilot]
data = {{ review = {approve} }}
[[steps]]
day = 2
job = "permit.issue"
result = {{ permit_no = "呼建许-0001" }}
[expect]
ends = ["end_approved"]
working_days = 2
variables = {{ "permit.permit_no" = "呼建许-0001" }}
''')
    assert held.ok, (held.error, held.failures)
    scripted = _run(bench, tmp_path, f'''
process = "sample_review"
[start]
data = {{ project = "项目" }}
[workers]
errors = {{ "permit.issue" = {{ code = "blacklisted", variables = {{ refusal_reason = "失信" }} }} }}
[autopilot]
data = {{ review = {approve} }}
[expect]
ends = ["end_blacklisted"]
working_days = 0
variables = {{ refusal_reason = "失信" }}
''')
    assert scripted.ok, (scripted.error, scripted.failures)


def test_a_suspended_instance_fires_nothing_until_resumed(bench: Workbench, tmp_path: Path) -> None:
    result = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[[steps]]
day = 2
suspend = "核查材料"
[[steps]]
day = 8
[[steps]]
day = 8
time = "11:00"
resume = "核查完毕"
[expect]
ends = ["end_deemed"]
working_days = 8
''')
    assert result.ok, (result.error, result.failures)


def test_wrong_expectations_and_unplayable_steps_are_reported(bench: Workbench, tmp_path: Path) -> None:
    wrong = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[expect]
state = "running"
ends = ["end_reviewed"]
deemed = []
working_days = 3
not_reached = ["record_deemed"]
variables = {{ deemed = false, "missing.path" = 1 }}
''')
    assert not wrong.ok and wrong.error is None
    assert wrong.failures == [
        "state: expected running, got completed",
        "ends: expected end_reviewed; reached end_deemed",
        "not_reached: reached record_deemed",
        "deemed: expected none; deemed approved review_fire",
        "working_days: expected 3, used 5",
        "variables.deemed: expected False, got True",
        "variables.missing.path: missing (expected 1)",
    ]
    unplayable = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[[steps]]
day = 7
complete = "review_fire"
''')
    assert unplayable.error == ("step 1 (day 7 10:00, complete review_fire): review_fire is not open "
                                "(open tasks: none)")
    wrong_department = _run(bench, tmp_path, f'''
process = "timer_deemed_review"
bpmn = "{DEEMED}"
[[steps]]
day = 1
complete = "review_fire"
department = "nrp"
''')
    assert wrong_department.error == "step 1 (day 1 10:00, complete review_fire): review_fire is for hc, not nrp"
    unknown = _run(bench, tmp_path, 'process = "no_such_process"')
    assert unknown.error is not None and unknown.error.startswith("no process 'no_such_process'")


def test_coverage_counts_flows_and_elements_and_draws_them(bench: Workbench, tmp_path: Path) -> None:
    results = [_run(bench, tmp_path, f'process = "timer_deemed_review"\nbpmn = "{DEEMED}"', "a.toml")]
    [entry] = coverage_of(results, bench)
    assert (entry.key, entry.scenarios) == ("timer_deemed_review", ["a"])
    assert entry.missing_flows == ["flow_review_end"]
    assert entry.missing_elements == ["end_reviewed"]
    assert round(entry.flow_percent, 1) == 75.0
    assert "flow not taken: flow_review_end (review_fire -> end_reviewed)" in entry.text()
    results.append(_run(bench, tmp_path, f'process = "timer_deemed_review"\nbpmn = "{DEEMED}"\n'
                                         '[autopilot]\nanswer = "at_once"', "b.toml"))
    [entry] = coverage_of(results, bench)
    assert entry.flow_percent == 100.0 and entry.element_percent == 100.0


def test_the_coverage_diagram_highlights_what_ran(bench: Workbench, tmp_path: Path) -> None:
    result = _run(bench, tmp_path, '''
process = "sample_review"
[start]
data = { project = "项目" }
[autopilot]
tasks = { review_fire = { decision = "reject", opinion = "不同意" } }
data = { review = { decision = "approve", opinion = "同意" } }
''')
    [entry] = coverage_of([result], bench)
    assert entry.missing_flows == ["flow_approved", "flow_blacklisted", "flow_permit_issued"]
    svg = etree.fromstring(entry.svg())
    marked = {g.get("data-element-id"): (g.get("class") or "").split()
              for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-element-id")}
    assert "taken" in marked["flow_rejected"] and "taken" not in marked["flow_approved"]
    assert "completed" in marked["end_rejected"] and "completed" not in marked["issue_permit"]
    assert "场景覆盖率" in etree.tostring(svg, encoding="unicode")


def test_the_worked_example_scenario_passes(bench: Workbench) -> None:
    result = run_scenario(read_scenario(DATA / "migration" / "migration_demo_deemed.toml"), bench)
    assert result.ok, (result.error, result.failures)
    [entry] = coverage_of([result], bench)
    assert entry.missing_flows == ["flow_cap", "flow_cap_end", "flow_land_merge"]
