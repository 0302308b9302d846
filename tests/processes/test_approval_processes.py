"""Both approval processes driven to their end through the real engine, for every scenario the issue accepts:
all on time, a silent department, a late fire review, 容缺 supplied on time / late / never, a false commitment,
a regional-assessment zone, refusal, withdrawal — plus the window's deemed acceptance and its correction loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from engine.clock import SimulatedClock
from engine.models import Notice
from tests.processes.approval_support import (
    CAPS,
    KEYS,
    AccountabilityRecord,
    Approval,
    EnforcementShare,
    Escalation,
    FormalDocumentObligation,
    Permit,
)
from tests.processes.approval_support import (
    FORM_DATA as FORM,
)


@pytest.fixture
def world(app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> Approval:
    return Approval(app, clock, deploy)


@pytest.mark.parametrize("key", KEYS)
def test_all_on_time_at_the_last_moment_uses_exactly_the_cap(world: Approval, key: str) -> None:
    """Every review answers one second before its committed due: the permit comes on the cap's last day, and no
    cap escalation fires (DESIGN.md §6: a chain finishing at its deadlines uses exactly the sum of its limits)."""
    world.apply(key)
    world.finish()
    assert world.describe().status == "completed"
    assert world.variables["approval_outcome"] == "permit"
    assert world.working_days_used() == CAPS[key]
    assert world.rows(Escalation) == [] and world.rows(AccountabilityRecord) == []
    assert {p.permit_type for p in world.rows(Permit)} == {"land_use", "planning", "construction"}
    assert [e.action for e in world.rows(EnforcementShare)] == ["issued"] * 3
    assert world.notices() == ["acceptance"]
    assert "end_permitted" in world.reached()
    assert world.variables["project_code"].startswith("2026-150100-47-")


@pytest.mark.parametrize("key", KEYS)
def test_a_silent_department_is_deemed_to_approve_and_owes_its_formal_document(world: Approval, key: str) -> None:
    world.apply(key)
    world.finish(silent=("review_design_water",))
    assert world.variables["approval_outcome"] == "permit"
    assert world.working_days_used() == CAPS[key]  # deemed at the committed limit: nobody waits longer
    opinion = world.variables["opinion_design_water"]
    assert (opinion["decision"], opinion["deemed"], opinion["department"]) == ("approve", True, "water")
    [record] = world.rows(AccountabilityRecord)
    assert (record.kind, record.department, record.subject, record.limit_wd) == (
        "deemed_approval", "water", "review_design_water", 10)
    [obligation] = world.rows(FormalDocumentObligation)
    calendar = world.calendar()
    assert obligation.due_at == calendar.deadline(record.occurred_at, 1).due_at  # within 1 working day
    assert obligation.fulfilled_at is None
    assert {"deadline_design_water", "deem_design_water"} <= world.reached()
    assert world.rows(Escalation) == []


@pytest.mark.parametrize("key", KEYS)
def test_a_late_fire_review_is_escalated_never_deemed(world: Approval, key: str) -> None:
    world.apply(key)
    world.finish(late={"review_fire": 3})
    assert world.variables["approval_outcome"] == "permit"
    assert world.variables["opinion_fire"].get("deemed") is None  # the clerk's own opinion, 3 days late
    assert world.working_days_used() == CAPS[key] + 3
    escalations = {(e.level, e.subject) for e in world.rows(Escalation)}
    assert escalations == {("review", "review_fire"), ("stage", "stage_3"), ("overall", "overall")}
    assert world.rows(AccountabilityRecord) == []
    assert "deem_fire" not in world.reached()


RONGQUE_MATERIAL = {"commercial_project": "ZRZY-02-M3", "government_investment_project": "ZRZY-01-M3"}


def _accept_with_gaps(world: Approval, key: str, due_wd: int = 5) -> None:
    world.apply(key, missing=(RONGQUE_MATERIAL[key],))
    assert world.variables["intake_check"]["rongque_eligible"] is True
    world.complete("completeness_decision", {"decision": "accept_with_gaps", "rongque_due_wd": due_wd,
                                             "missing_secondary": [RONGQUE_MATERIAL[key]]})
    assert "rongque_supply" in world.tasks()


@pytest.mark.parametrize("key", KEYS)
def test_rongque_documents_supplied_on_time(world: Approval, key: str) -> None:
    _accept_with_gaps(world, key)
    world.finish(after={"rongque_supply": 3})
    assert world.variables["approval_outcome"] == "permit"
    assert world.notices() == ["acceptance"]
    assert world.rows(Notice)[0].details["rongque"] is True
    assert world.working_days_used() <= CAPS[key]


@pytest.mark.parametrize("key", KEYS)
def test_rongque_documents_late_suspend_the_file_and_the_clock(world: Approval, key: str) -> None:
    _accept_with_gaps(world, key, due_wd=3)
    world.finish(silent=("rongque_supply",), after={"rongque_suspended": 4})
    assert world.variables["approval_outcome"] == "permit"
    assert world.notices() == ["acceptance", "rongque_suspended", "resumed"]
    # the suspension paused every working-day timer: 4 more days in the calendar, none on the clock (the window
    # decided on day 0, a day before its committed limit)
    assert world.working_days_used() == CAPS[key] - 1 + 4
    assert world.rows(Escalation) == [] and world.rows(AccountabilityRecord) == []
    assert "rongque_return" not in world.reached()


@pytest.mark.parametrize("key", KEYS)
def test_rongque_documents_never_supplied_return_the_application(world: Approval, key: str) -> None:
    _accept_with_gaps(world, key, due_wd=3)
    world.finish(silent=("rongque_supply", "rongque_suspended"))
    assert world.describe().status == "completed"
    assert world.variables["approval_outcome"] == "returned"
    assert world.notices() == ["acceptance", "rongque_suspended", "returned"]
    assert {"rongque_return", "end_returned"} <= world.reached()
    assert world.rows(Permit) == [] and world.tasks() == {}


@pytest.mark.parametrize("key", KEYS)
def test_a_false_commitment_revokes_the_permit_and_is_recorded(world: Approval, key: str) -> None:
    code = world.applicant(11)
    world.apply(key, code, commitment_requested=True)
    world.finish(data={"post_check": {"commitment_true": False, "findings": "建设资金未落实",
                                      "checked_on": "2026-06-30"}})
    assert world.variables["approval_outcome"] == "revoked"
    assert "review_permit_commitment" in world.created_tasks() and "review_permit" not in world.created_tasks()
    [permit] = [p for p in world.rows(Permit) if p.permit_type == "construction"]
    assert permit.by_commitment and permit.revoked_at is not None and permit.revocation_reason == "建设资金未落实"
    assert [e.action for e in world.rows(EnforcementShare)] == ["issued", "issued", "issued", "revoked"]
    assert world.notices() == ["acceptance", "revocation"]
    assert world.deps.credit_status(code)["may_commit"] is False
    second = world.apply(key, code, commitment_requested=True)  # no more commitments for this applicant
    assert second and world.variables["credit"]["may_commit"] is False
    world.finish()
    assert "review_permit" in world.created_tasks() and "review_permit_commitment" not in world.created_tasks()


@pytest.mark.parametrize("key", KEYS)
def test_a_project_in_an_assessed_zone_skips_those_assessments(world: Approval, key: str) -> None:
    world.apply(key, zone_id="hlgr-core", missing=("STHJ-01-M1", "SW-02-M1"))
    assert world.variables["intake_check"]["complete"] is True  # nor their materials are needed
    world.finish()
    assert world.variables["approval_outcome"] == "permit"
    created = world.created_tasks()
    assert not {"review_eia", "review_soil", "review_design_heritage"} & created
    assert {"review_energy", "review_design_water"} <= created
    assert world.working_days_used() == CAPS[key]


@pytest.mark.parametrize("key", KEYS)
def test_a_refusal_ends_with_a_numbered_decision(world: Approval, key: str) -> None:
    world.apply(key)
    world.finish(data={"review_land": {**FORM["land_permit"], "decision": "reject", "opinion": "不符合控制性详细规划"}})
    assert world.describe().status == "completed"
    assert world.variables["approval_outcome"] == "refused"
    assert world.notices() == ["acceptance", "refusal"]
    assert "end_refused" in world.reached() and world.rows(Permit) == []
    assert world.tasks() == {}  # the withdrawal task was cancelled with the rest


@pytest.mark.parametrize("key", KEYS)
def test_the_applicant_withdraws_during_stage_two(world: Approval, key: str) -> None:
    world.apply(key)
    world.finish(until="review_design")
    world.complete("withdraw")
    assert world.variables["approval_outcome"] == "withdrawn"
    assert world.notices() == ["acceptance", "withdrawal"]
    assert "end_withdrawn" in world.reached() and world.tasks() == {}
    assert {p.permit_type for p in world.rows(Permit)} == {"land_use"}


def test_the_window_silent_for_five_days_means_accepted(world: Approval) -> None:
    world.apply("commercial_project")
    world.finish(silent=("completeness_decision",))
    assert world.variables["approval_outcome"] == "permit"
    assert world.variables["intake_decision"]["deemed"] is True
    [record] = world.rows(AccountabilityRecord)
    assert (record.kind, record.department) == ("deemed_acceptance", "window")
    assert world.rows(FormalDocumentObligation) == []
    assert world.working_days_used() == CAPS["commercial_project"] + 4  # 5 days instead of the committed 1
    assert {e.level for e in world.rows(Escalation)} == {"stage", "overall"}


def test_a_one_time_correction_notice_then_acceptance(world: Approval) -> None:
    world.apply("commercial_project", missing=("CK-01-M2",))
    assert world.variables["intake_check"]["missing_primary"] == ["CK-01-M2"]
    world.complete("completeness_decision", {"decision": "correct", "corrections": ["补交项目总平面示意图"]})
    assert "correction" in world.tasks()
    world.complete("correction")  # registered the same day: the clock did not run
    world.finish()
    assert world.notices() == ["correction", "acceptance"]
    assert world.variables["approval_outcome"] == "permit"


def test_a_blacklisted_applicant_gets_no_rongque(world: Approval) -> None:
    from engine.bureau import credit
    from engine.services.commands import run_command

    code = world.applicant(21)
    run_command(world.state.sessions, lambda s: credit.record(
        s, credit_code=code, kind="blacklist", reason="列入失信被执行人名单", actor="admin", now=world.clock.now()))
    world.apply("commercial_project", code, missing=(RONGQUE_MATERIAL["commercial_project"],))
    world.complete("completeness_decision", {"decision": "accept_with_gaps", "rongque_due_wd": 5,
                                             "missing_secondary": [RONGQUE_MATERIAL["commercial_project"]]})
    assert world.notices() == ["rongque_refused", "correction"]
    assert "correction" in world.tasks() and "rongque_supply" not in world.tasks()


def test_intake_refusal_and_an_unprofiled_applicant(world: Approval) -> None:
    from engine.bureau.errors import ApplicantNotFound
    from tests.bureau.support import credit_code

    with pytest.raises(ApplicantNotFound, match="尚未录入基本信息"):
        world.apply("commercial_project", credit_code(99))
    world.apply("commercial_project")
    world.complete("completeness_decision", {"decision": "refuse", "reasons": "不属于本机关受理范围"})
    assert world.variables["approval_outcome"] == "not_accepted"
    assert world.notices() == ["not_accepted"] and "end_not_accepted" in world.reached()


@pytest.mark.parametrize("key, review, form", [
    ("commercial_project", "review_eia", "eia"),
    ("commercial_project", "review_cad", "cad_approval"),
    ("government_investment_project", "review_energy", "energy_review"),
    ("government_investment_project", "review_preliminary_design", "investment_approval"),
])
def test_a_refusal_in_a_parallel_branch_survives_the_join(world: Approval, key: str, review: str,
                                                           form: str) -> None:
    """Stage 2 and the gates run in parallel; a refusal in one must not be overwritten at join_stage_2 by the
    other branch's copy of the variables (each stage writes its result only at its own end)."""
    world.apply(key)
    world.finish(data={review: {**FORM[form], "decision": "reject", "opinion": "不符合法定条件"}})
    assert world.variables["approval_outcome"] == "refused"
    assert "end_refused" in world.reached() and "stage_3" not in world.reached()
    assert world.notices() == ["acceptance", "refusal"]
    assert {p.permit_type for p in world.rows(Permit)} <= {"land_use", "planning"}
