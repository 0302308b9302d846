"""Scenario files are read strictly: every mistake is named with the file and the key, nothing runs half-read."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

import pytest

from engine.calendar import SHANGHAI
from engine.scenarios.spec import DEFAULT_START, ScenarioError, read_defaults, read_scenario, scenario_files


def _write(tmp_path: Path, text: str, name: str = "demo_case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as raised:
        read_scenario(_write(tmp_path, text))
    return raised.value.message


def test_a_full_scenario_reads_into_steps_and_expectations(tmp_path: Path) -> None:
    path = _write(tmp_path, '''
process = "sample_review"
title = "示例"
start_at = 2026-04-07T09:30:00+08:00
until_day = 9
[start]
business_key = "S-1"
data = { project = "示例项目" }
[workers]
hold = ["permit.issue"]
results = { "credit.check" = { blacklisted = false } }
errors = { "zone.lookup" = "unknown_zone" }
[autopilot]
answer = "at_due"
silent = ["withdraw"]
late = { review_fire = 2 }
[[steps]]
day = 1
time = "14:30"
complete = "review_land"
department = "nrp"
data = { decision = "approve", opinion = "同意" }
[[steps]]
day = 3
job = "permit.issue"
error = "blacklisted"
variables = { refusal_reason = "失信" }
[[steps]]
day = 4
suspend = "核查"
[expect]
state = "completed"
ends = ["end_approved"]
working_days = 4
variables = { "permit.project" = "示例项目" }
''')
    scenario = read_scenario(path)
    assert scenario.name == "demo_case" and scenario.title == "示例"
    assert scenario.start_at == datetime(2026, 4, 7, 9, 30, tzinfo=SHANGHAI)
    assert scenario.until_day == 9 and scenario.business_key == "S-1"
    assert scenario.workers.hold == {"permit.issue"}
    assert scenario.workers.errors == {"zone.lookup": {"code": "unknown_zone", "message": "", "variables": {}}}
    assert scenario.autopilot is not None and scenario.autopilot.late == {"review_fire": 2}
    first, second, third = scenario.steps
    assert (first.day, first.at, first.action, first.target, first.department) == (
        1, time(14, 30), "complete", "review_land", "nrp")
    assert (second.action, second.error, second.data) == ("job", "blacklisted", {"refusal_reason": "失信"})
    assert (third.action, third.target, third.at) == ("suspend", "核查", time(10, 0))
    assert scenario.expect.ends == {"end_approved"} and scenario.expect.working_days == 4


def test_defaults_fill_start_data_and_forms(tmp_path: Path) -> None:
    _write(tmp_path, '''
[forms.review]
decision = "approve"
opinion = "默认"
[process.sample_review]
via = "start"
data = { project = "默认项目", applicant_code = "X" }
''', "defaults.toml")
    path = _write(tmp_path, '''
process = "sample_review"
[start]
data = { project = "本场景项目" }
[forms.review]
decision = "reject"
opinion = "本场景"
''')
    scenario = read_scenario(path, defaults=read_defaults(tmp_path))
    assert scenario.start_data == {"project": "本场景项目", "applicant_code": "X"}
    assert scenario.form_data["review"] == {"decision": "reject", "opinion": "本场景"}
    assert scenario.start_at == DEFAULT_START and not scenario.via_application
    assert scenario_files([tmp_path]) == [path]  # defaults.toml is not a scenario


@pytest.mark.parametrize(("text", "message"), [
    ('title = "x"', "process is missing"),
    ('process = "p"\n[start]\ndta = {}', "unknown key(s): start.dta"),
    ('process = "p"\n[[steps]]\nday = 1\ncomplete = "a"\njob = "b"', "one action per step, not complete and job"),
    ('process = "p"\n[[steps]]\nday = 2\n[[steps]]\nday = 1', "write steps in time order"),
    ('process = "p"\n[[steps]]\nday = 1\ntime = "25:00"', "steps[1].time: expected HH:MM"),
    ('process = "p"\n[[steps]]\nday = -1', "working days count from 0"),
    ('process = "p"\n[[steps]]\nday = 1\njob = "permit.issue"', "exactly one of result, error, fail"),
    ('process = "p"\n[workers]\nhold = ["a.b"]\nresults = { "a.b" = {} }', "pick one"),
    ('process = "p"\n[autopilot]\nanswer = "later"', "expected one of at_once, at_due"),
    ('process = "p"\n[autopilot]\nlate = { review = -1 }', "autopilot.late.review"),
    ('process = "p"\n[expect]\nstate = "done"', "expected one of running, completed"),
    ('process = "p"\n[expect]\nworking_days = "5"', "expect.working_days: expected a whole number"),
    ('process = "p"\n[expect]\nreached = "review"', "expect.reached: expected a list"),
    ('process = "p"\nbpmn = "missing.bpmn"', "bpmn: no file"),
    ('process = "p"\nstart_at = "next monday"', "start_at: expected a date-time"),
    ('process = ', "not TOML"),
])
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    assert message in _error(tmp_path, text)
