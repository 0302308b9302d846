"""What the simulated people do, drawn from one seeded random generator: applicants (new or returning, online or
at the window, complete or missing materials, 容缺 documents on time / late / never, commitments true or false,
withdrawals) and clerks (departments on time or late; fire and civil air defence late by a few days, since
their silence never means consent; the window deciding on the day or, rarely, not at all).

Every choice is made when a project arrives or a task opens, from the project's own generator, so a run is
reproducible for a seed whatever order the engine presents tasks in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

KINDS = ("commercial", "government")
PROCESS_OF = {"commercial": "commercial_project", "government": "government_investment_project"}
RONGQUE_MATERIAL = {"commercial": "ZRZY-02-M3", "government": "ZRZY-01-M3"}
ZONES = (("hlgr-core", 0.2), ("etdz-shaerqin", 0.1), ("jinqiao-old", 0.05))
NON_DEFAULTING = ("completeness_decision",)  # and every review with silent_default = false


@dataclass(frozen=True)
class Rates:
    """Probabilities of the behaviours (defaults: mostly good behaviour, every kind of trouble present)."""

    window_channel: float = 0.2  # applied in person at the window (one trip) rather than online
    returning_applicant: float = 0.35  # an applicant with earlier projects (profile already on file)
    blacklisted: float = 0.04  # of new applicants
    missing_secondary: float = 0.2  # 容缺 candidates
    missing_primary: float = 0.08  # one-time correction notice
    rongque_late: float = 0.25
    rongque_never: float = 0.1
    commitment: float = 0.3  # 告知承诺 requested for the construction permit
    false_commitment: float = 0.2  # of those
    withdrawal: float = 0.03
    consultation: float = 0.05
    expert_review: float = 0.1
    refusal: float = 0.01  # per project: one of its stage-1 reviews refuses
    review_silent: float = 0.06  # a defaulting review never answered (deemed approval)
    nondefaulting_late: float = 0.05  # fire / civil air defence answering 1-5 working days late
    window_silent: float = 0.02  # the window lets 5 days pass (deemed acceptance)


@dataclass
class Project:
    """One simulated application and the choices made for it."""

    number: int
    kind: str
    rng: random.Random
    applicant: int  # index into the applicant pool
    arrival_wd: int  # working days after the simulation's first day
    channel: str
    zone_id: str
    missing: tuple[str, ...]
    rongque: str  # none | on_time | late | never
    commitment: bool
    false_commitment: bool
    withdraw_after_wd: int | None
    consultation: bool
    refuse_step: str | None
    instance_id: str = ""
    corrected: bool = False  # the one-time correction was supplied: the window accepts next time

    @property
    def process_key(self) -> str:
        return PROCESS_OF[self.kind]


def draw_projects(count: int, kind: str, seed: int, rates: Rates, arrival_span_wd: int) -> tuple[list[Project], int]:
    """The projects (arrival order) and the size of the applicant pool they come from."""
    rng = random.Random(seed)
    projects: list[Project] = []
    pool = 0
    for number in range(count):
        own = random.Random(rng.getrandbits(64))
        chosen = kind if kind in KINDS else ("commercial" if own.random() < 0.6 else "government")
        returning = pool > 0 and own.random() < rates.returning_applicant
        applicant = own.randrange(pool) if returning else pool
        pool += 0 if returning else 1
        missing: tuple[str, ...] = ()
        draw = own.random()
        if draw < rates.missing_primary:
            missing = ("CK-01-M2",)
        elif draw < rates.missing_primary + rates.missing_secondary:
            missing = (RONGQUE_MATERIAL[chosen],)
        rongque = "none"
        if missing and missing[0] == RONGQUE_MATERIAL[chosen]:
            r = own.random()
            rongque = "never" if r < rates.rongque_never else "late" if r < rates.rongque_never + rates.rongque_late \
                else "on_time"
        zone = ""
        z = own.random()
        for zone_id, share in ZONES:
            if z < share:
                zone = zone_id
                break
            z -= share
        commitment = own.random() < rates.commitment
        refuse = None
        if own.random() < rates.refusal:
            refuse = own.choice(["review_land", "review_filing"] if chosen == "commercial"
                                else ["review_land", "review_site", "review_feasibility"])
        projects.append(Project(
            number=number, kind=chosen, rng=own, applicant=applicant,
            arrival_wd=own.randrange(arrival_span_wd) if arrival_span_wd > 0 else 0,
            channel="window" if own.random() < rates.window_channel else "online",
            zone_id=zone, missing=missing, rongque=rongque, commitment=commitment,
            false_commitment=commitment and own.random() < rates.false_commitment,
            withdraw_after_wd=own.randrange(5, 60) if own.random() < rates.withdrawal else None,
            consultation=own.random() < rates.consultation, refuse_step=refuse))
    projects.sort(key=lambda p: (p.arrival_wd, p.number))
    return projects, pool


# A project's share of a run's work by kind: `simulate --projects 100 --kind K --seed 3` took 20.9 s CPU for
# commercial projects and 22.7 s for government-investment ones (2,181 and 2,400 commands).
KIND_WEIGHT = {"commercial": 1.0, "government": 1.09}


def split_by_applicant(projects: list[Project], shares: int) -> list[list[Project]]:
    """The projects in `shares` groups (each in the given order), every applicant's projects in one group: what a
    project sees of another goes through its applicant (simulation/shards.py). Groups of about equal work: the
    applicants with the most work first, each to the group with the least so far."""
    work: dict[int, float] = {}
    for p in projects:
        work[p.applicant] = work.get(p.applicant, 0.0) + KIND_WEIGHT[p.kind]
    loads, group_of = [0.0] * shares, {}
    for applicant in sorted(work, key=lambda a: (-work[a], a)):
        group = min(range(shares), key=lambda g: (loads[g], g))
        group_of[applicant] = group
        loads[group] += work[applicant]
    groups: list[list[Project]] = [[] for _ in range(shares)]
    for p in projects:
        groups[group_of[p.applicant]].append(p)
    return groups


@dataclass(frozen=True)
class Plan:
    """When a task is answered (working days after it opened, and the hour), or never, and with what data."""

    after_wd: int | None  # None: never answered (a timer or another branch decides)
    hour: int
    data: dict[str, Any]


APPROVE = {"decision": "approve", "opinion": "同意"}
REVIEW_DATA: dict[str, dict[str, Any]] = {
    "filing": {**APPROVE, "filing_no": "备案证明"},
    "land_permit": {**APPROVE, "land_area_m2": 15000, "land_use": "commercial"},
    "investment_approval": {**APPROVE, "approved_investment_wan": 12000},
    "design_review": {**APPROVE, "expert_review": False},
    "review_opinion": APPROVE,
    "planning_permit": {**APPROVE, "building_area_m2": 42000},
    "cad_approval": {**APPROVE, "mode": "build", "shelter_area_m2": 3500},
    "eia": {**APPROVE, "category": "table"},
    "energy_review": {**APPROVE, "annual_energy_tce": 900},
    "water_permit": APPROVE,
    "drawing_review": {"decision": "approve", "opinion": "审查合格"},
    "fire_design": APPROVE,
    "construction_permit": {"decision": "approve", "opinion": "准予许可"},
    "permit_commitment": {"decision": "approve", "opinion": "据承诺准予许可", "commitment_signed": True},
}


def plan_task(project: Project, bpmn_id: str, form: str, properties: dict[str, str], today: str,
              rates: Rates) -> Plan:
    """How the clerk (or the applicant behind a window task) answers this task."""
    rng = project.rng
    hour = rng.randrange(9, 18)
    limit = int(properties.get("limit_committed_wd") or 0)
    if bpmn_id == "withdraw":
        if project.withdraw_after_wd is None:
            return Plan(None, hour, {})
        return Plan(project.withdraw_after_wd, hour, {"reason": "投资计划调整，申请撤回", "confirmed": True})
    if bpmn_id == "completeness_decision":
        if rng.random() < rates.window_silent:
            return Plan(None, hour, {})
        return Plan(rng.randrange(0, 2), hour, _intake_decision(project))
    if bpmn_id == "correction":
        project.corrected = True
        return Plan(rng.randrange(1, 4), hour, {"action": "supplied", "materials": list(project.missing)})
    if bpmn_id == "rongque_supply":
        if project.rongque != "on_time":
            return Plan(None, hour, {})
        return Plan(rng.randrange(1, 5), hour, {"materials": list(project.missing), "received_on": today})
    if bpmn_id == "rongque_suspended":
        if project.rongque == "never":
            return Plan(None, hour, {})
        return Plan(rng.randrange(1, 11), hour, {"materials": list(project.missing), "received_on": today})
    if bpmn_id == "joint_consultation":
        return Plan(rng.randrange(2, 6), hour, {"departments": ["nrp", "hc", "drc"], "summary": "一次性告知全部事项",
                                                "preconditions_explained": True})
    if bpmn_id == "public_notice":
        return Plan(5, hour, {"started_on": today, "ended_on": today, "objections": 0, "result": "公示期满无异议"})
    if bpmn_id == "expert_review":
        return Plan(rng.randrange(3, 9), hour, {"conclusion": "pass", "experts": ["专家甲", "专家乙", "专家丙"],
                                                "opinion": "同意"})
    if bpmn_id == "post_check":
        truthful = not project.false_commitment
        return Plan(rng.randrange(5, 20), hour, {"commitment_true": truthful, "checked_on": today,
                                                 "findings": "承诺事项属实" if truthful else "建设资金未落实，承诺不实"})
    if bpmn_id in ("joint_meeting", "design_revision", "drawing_revision"):  # not drawn, answered if reached
        return Plan(1, hour, {"joint_meeting": {"decision": "approve", "attendees": ["nrp", "hc"], "minutes": "协调一致"},
                              "design_revision": {"summary": "修改", "materials": ["ZRZY-04-M1"]},
                              "drawing_revision": {"summary": "修改", "materials": ["ZJ-02-M1"]}}[bpmn_id])
    data = dict(REVIEW_DATA.get(form, APPROVE))
    if bpmn_id == "review_design" and rng.random() < rates.expert_review:
        data["expert_review"] = True
    if bpmn_id == project.refuse_step:
        return Plan(rng.randrange(0, limit + 1), hour, {**data, "decision": "reject", "opinion": "不符合法定条件"})
    if properties.get("silent_default") == "false":
        if rng.random() < rates.nondefaulting_late:
            return Plan(limit + rng.randrange(1, 6), hour, data)
        return Plan(rng.randrange(0, limit + 1), hour, data)
    if limit and rng.random() < rates.review_silent:
        return Plan(None, hour, data)  # silence: the timer deems it approved
    return Plan(rng.randrange(0, limit + 1) if limit else 0, hour, data)


def _intake_decision(project: Project) -> dict[str, Any]:
    if project.corrected or not project.missing:
        return {"decision": "accept"}
    if project.missing == ("CK-01-M2",):
        return {"decision": "correct", "corrections": ["补交项目总平面示意图"]}
    return {"decision": "accept_with_gaps", "missing_secondary": list(project.missing), "rongque_due_wd": 5}
