"""The three stages and the gates: department reviews in sequence or in parallel, each stage's refusal path, the
容缺 supervision beside stage 1, the design and drawing rounds with their back-flows, the permit.

Each stage writes its own result (`stage_1_result`, `stage_2_result`, `gates_result`, `stage_3_result`) on its
last step, never before: a parallel join merges the branches' data and the last one wins, so a result set before
`fork_stage_2` would reach `join_stage_2` stale from the other branch and overwrite a refusal.
"""

from __future__ import annotations

from tools.processgen.intake import intake as build_intake
from tools.processgen.model import Container, Node, Timer
from tools.processgen.patterns import Review, approved, notice, outcome, q, review
from tools.processgen.spec import Step, Variant

DESIGN_OPINIONS = [
    Step("design", "ZRZY-04", "设计方案审查（牵头）", form="design_review", short="设计方案审查"),
    Step("design_hc", "ZJ-01", "设计方案审查：住建意见", short="住建意见"),
    Step("design_cad", "RF-01", "设计方案审查：人防意见", short="人防意见"),
    Step("design_transport", "JT-01", "设计方案审查：交通意见", short="交通意见"),
    Step("design_forest", "LC-01", "设计方案审查：林草意见", short="林草意见"),
    Step("design_water", "SW-01", "设计方案审查：水务意见", short="水务意见"),
    Step("design_heritage", "WW-01", "设计方案审查：文物意见", short="文物意见"),
]
DRAWINGS = [
    Step("drawings", "ZJ-02", "施工图审查：结构等（审图机构）", form="drawing_review", short="施工图审查"),
    Step("drawings_fire", "ZJ-03", "施工图审查：消防专项", form="drawing_review", short="施工图消防审查"),
    Step("drawings_cad", "RF-03", "施工图审查：人防专项", form="drawing_review", short="施工图人防审查"),
]


def _refusal(c: Container, n: str, variable: str) -> Node:
    """The shared refusal path of a stage: numbered notice, result, terminate (ends the stage's other branches)."""
    merge = c.xor(f"refuse_{n}", "不予许可")
    tell = notice(c, f"notify_refusal_{n}", "refusal", "不予行政许可决定书")
    mark = outcome(c, f"set_refused_{n}", "记录结果：不予许可", variable, "refused")
    c.chain(merge, tell, mark, c.end(f"refused_{n}", "不予许可", terminate=True))
    return merge


def _checked(c: Container, exit_node: Node, key: str, refuse: Node, label: str) -> Node:
    """An exclusive gateway after one review: approve goes on, anything else to the stage's refusal."""
    gw = c.xor(f"ok_{key}", f"{label}是否同意？")
    c.flow(exit_node, gw)
    c.flow(gw, refuse, "不同意", default=True, side=True)
    return gw


def stage_1(v: Variant, c: Container) -> None:
    start = c.start("stage_1_start")
    intake = c.sub("intake", "一窗受理", lead_department="window")
    build_intake(intake.body)
    c.chain(start, intake)
    accepted = c.xor("intake_ok", "是否受理？")
    c.flow(intake, accepted)
    c.flow(accepted, c.end("stage_1_not_accepted", "未受理"), "否", default=True, side=True)
    fork = c.par("fork_stage_1", "审批与容缺材料跟踪并行")
    c.flow(accepted, fork, "已受理", condition='stage_1_result == "ok"')
    refuse = _refusal(c, "1", "stage_1_result")
    join = c.par("join_stage_1")
    previous: Node = fork
    previous_key: str | None = None
    for step in v.stage_1_chain:
        entry, exit_node = review(c, v.review(step))
        if previous_key is None:
            c.flow(previous, entry)
        else:
            c.flow(previous, entry, "同意", condition=approved(previous_key))
        previous, previous_key = _checked(c, exit_node, step.key, refuse, step.short or step.name), step.key
    c.flow(previous, join, "同意", condition=approved(previous_key or ""))
    _rongque(c, fork, join)
    issue = c.service("issue_land_permit", f"核发{v.stage_1_permit}", "certificate.issue",
                      params={"permit_type": q("land_use"), "title": q(v.stage_1_permit), "credit_code": "credit_code",
                              "project_code": "project_code", "project_name": "project_name"},
                      result="permit_land_use")
    share = c.service("share_land_permit", "许可结果推送执法监管部门", "enforcement.share",
                      params={"action": q("issued"), "permit": "permit_land_use", "project_code": "project_code",
                              "credit_code": "credit_code"}, result="shared_land_permit")
    c.chain(join, issue, share, c.end("stage_1_end", "第一阶段办结"))


def _rongque(c: Container, fork: Node, join: Node) -> None:
    """容缺 supervision beside the stage-1 reviews; the stage-1 certificate waits for it at the join."""
    used = c.xor("rongque_used", "容缺受理？")
    done = c.xor("rongque_done")
    c.flow(fork, used)
    c.flow(used, done, "否", default=True)
    supply = c.user("rongque_supply", "登记容缺材料补交（按承诺期限）", candidateGroups="window",
                    formJsonSchemaFilename="rongque_supply.schema.json", resultVariable="rongque_supply")
    c.flow(used, supply, "是", condition="rongque", side=True)
    c.flow(supply, done)
    due = c.boundary("rongque_due", "承诺期限届满未补交", supply,
                     Timer("duration", 'f"P{intake_decision[\'rongque_due_wd\']}D"', pausable=False),
                     interrupting=True)
    suspend = notice(c, "notify_suspension", "rongque_suspended", "审批中止通知书（容缺材料逾期）")
    suspended = c.user("rongque_suspended", "审批中止：登记容缺材料补交（中止期间不计时）", candidateGroups="window",
                       pauses_clock="rongque_suspension", formJsonSchemaFilename="rongque_supply.schema.json",
                       resultVariable="rongque_late_supply")
    resumed = notice(c, "notify_resumed", "resumed", "恢复审批通知书")
    c.chain(due, suspend, suspended, resumed, done)
    c.flow(done, join)
    returned = c.boundary("rongque_return", "中止满15个工作日仍未补齐", suspended, Timer("duration", "P15D", pausable=False),
                          interrupting=True)
    tell = notice(c, "notify_return", "returned", "退件通知书")
    c.chain(returned, tell, outcome(c, "set_returned", "记录结果：退件", "stage_1_result", "returned"),
            c.end("rongque_returned", "退件", terminate=True))


def _parallel_reviews(v: Variant, c: Container, name: str, key: str, steps: list[Step], previous: Node,
                      skips: dict[str, str] | None = None) -> tuple[Node, Node]:
    fork = c.par(f"fork_{key}", name)
    join = c.par(f"join_{key}")
    c.flow(previous, fork)
    for step in steps:
        skip = (skips or {}).get(step.key)
        entry, exit_node = review(c, v.review(step))
        if skip:
            gw = c.xor(f"skip_{step.key}", f"区域评估已覆盖（{skip}）？")
            merged = c.xor(f"covered_{step.key}")
            c.flow(fork, gw)
            c.flow(gw, merged, "已覆盖，免于单独评审", condition=f"{skip!r} in zone[\"covers\"]")
            c.flow(gw, entry, "未覆盖", default=True)
            c.flow(exit_node, merged)
            c.flow(merged, join)
        else:
            c.flow(fork, entry)
            c.flow(exit_node, join)
    return fork, join


def stage_2(v: Variant, c: Container) -> None:
    start = c.start("stage_2_start")
    refuse = _refusal(c, "2", "stage_2_result")
    again = c.xor("design_round", "设计方案（修改后重新）联合审查")
    c.flow(start, again)
    _fork, join = _parallel_reviews(v, c, "设计方案联合审查（并联）", "design", DESIGN_OPINIONS, again,
                                    skips={"design_heritage": "heritage"})
    consistent = c.xor("design_consistent", "意见是否一致同意？")
    c.flow(join, consistent)
    keys = [s.key for s in DESIGN_OPINIONS]
    covered = "(\"heritage\" in zone[\"covers\"] or opinion_design_heritage[\"decision\"] == \"approve\")"
    condition = " and ".join([approved(k) for k in keys if k != "design_heritage"] + [covered])
    expert_gw = c.xor("expert_review_needed", "需要专家评审？")
    c.flow(consistent, expert_gw, "一致同意", condition=condition)
    meeting = c.user("joint_meeting", "联席会议：协调分歧意见（牵头部门召集）", candidateGroups="nrp",
                     formJsonSchemaFilename="joint_meeting.schema.json", resultVariable="joint_meeting")
    c.flow(consistent, meeting, "有不同意见", default=True, side=True)
    conclusion = c.xor("joint_meeting_result", "联席会议结论")
    c.flow(meeting, conclusion)
    c.flow(conclusion, expert_gw, "通过", condition='joint_meeting["decision"] == "approve"')
    needs_revision = c.xor("design_revision_needed", "退回修改设计方案")
    revise = c.user("design_revision", "登记修改后的设计方案（申请人修改期间不计时）", candidateGroups="window",
                    pauses_clock="supplement", formJsonSchemaFilename="revision.schema.json",
                    resultVariable="design_revision")
    c.flow(conclusion, needs_revision, "退回修改", condition='joint_meeting["decision"] == "revise"')
    c.flow(needs_revision, revise)
    c.flow(revise, again, "重新联合审查", back=True)
    c.flow(conclusion, refuse, "不予通过", default=True, side=True)

    expert = c.user("expert_review", "专家评审（不计入审批时限）", candidateGroups="nrp", pauses_clock="expert_review",
                    formJsonSchemaFilename="expert_review.schema.json", resultVariable="expert_review")
    experts_done = c.xor("expert_review_done")
    c.flow(expert_gw, expert, "是", condition='opinion_design.get("expert_review", False)', side=True)
    c.flow(expert_gw, experts_done, "否", default=True)
    expert_ok = c.xor("expert_review_ok", "专家评审是否通过？")
    c.chain(expert, expert_ok)
    c.flow(expert_ok, experts_done, "通过", condition='expert_review["conclusion"] == "pass"')
    c.flow(expert_ok, needs_revision, "修改设计方案", default=True, side=True)

    split = c.par("fork_permits", "规划许可与专项审批并联")
    permits_join = c.par("join_permits")
    c.flow(experts_done, split)
    notice_task = c.user("public_notice", "批前公示（不计入审批时限）", candidateGroups="nrp",
                         pauses_clock="public_notice", formJsonSchemaFilename="public_notice.schema.json",
                         resultVariable="public_notice")
    c.flow(split, notice_task)
    planning = Step("planning", "ZRZY-05", "建设工程规划许可审查", form="planning_permit", short="规划许可")
    cad = Step("cad", "RF-02", "人防工程建设审批", form="cad_approval", short="人防审批")
    for step in [planning, cad, *v.stage_2_extra]:
        entry, exit_node = review(c, v.review(step))
        c.flow(notice_task if step is planning else split, entry)
        gw = _checked(c, exit_node, step.key, refuse, step.short or step.name)
        c.flow(gw, permits_join, "同意", condition=approved(step.key))
    issue = c.service("issue_planning_permit", "核发建设工程规划许可证", "certificate.issue",
                      params={"permit_type": q("planning"), "title": q("建设工程规划许可证"),
                              "credit_code": "credit_code", "project_code": "project_code",
                              "project_name": "project_name"}, result="permit_planning")
    share = c.service("share_planning_permit", "许可结果推送执法监管部门", "enforcement.share",
                      params={"action": q("issued"), "permit": "permit_planning", "project_code": "project_code",
                              "credit_code": "credit_code"}, result="shared_planning_permit")
    c.chain(permits_join, issue, share, outcome(c, "stage_2_ok", "记录结果：第二阶段办结", "stage_2_result", "ok"),
            c.end("stage_2_end", "第二阶段办结"))


def gates(v: Variant, c: Container) -> None:
    start = c.start("gates_start")
    refuse = _refusal(c, "gates", "gates_result")
    fork = c.par("fork_gates", "前置事项并联")
    join = c.par("join_gates")
    c.flow(start, fork)
    for gate in v.gates:
        step = gate.step
        entry, exit_node = review(c, v.review(step))
        gw = _checked(c, exit_node, step.key, refuse, step.short or step.name)
        if gate.zone_code:
            done = c.xor(f"gate_done_{step.key}")
            c.flow(gw, done, "同意", condition=approved(step.key))
            skip = c.xor(f"skip_{step.key}", f"区域评估已覆盖（{gate.zone_code}）？")
            c.flow(fork, skip)
            c.flow(skip, done, "已覆盖，免于单独审批", condition=f"{gate.zone_code!r} in zone[\"covers\"]")
            c.flow(skip, entry, "未覆盖", default=True)
            c.flow(done, join)
        else:
            c.flow(fork, entry)
            c.flow(gw, join, "同意", condition=approved(step.key))
    c.chain(join, outcome(c, "gates_ok", "记录结果：前置事项办结", "gates_result", "ok"),
            c.end("gates_end", "前置事项办结"))


def stage_3(v: Variant, c: Container) -> None:
    start = c.start("stage_3_start")
    refuse = _refusal(c, "3", "stage_3_result")
    again = c.xor("drawings_round", "施工图（修改后复审）联合审查")
    c.flow(start, again)
    _fork, join = _parallel_reviews(v, c, "施工图联合审查（多图联审）", "drawings", DRAWINGS, again)
    passed = c.xor("drawings_passed", "联合审查是否合格？")
    c.flow(join, passed)
    revise = c.user("drawing_revision", "登记修改后的施工图（申请人修改期间不计时）", candidateGroups="window",
                    pauses_clock="supplement", formJsonSchemaFilename="revision.schema.json",
                    resultVariable="drawing_revision")
    c.flow(passed, revise, "不合格，退回修改", default=True, side=True)
    c.flow(revise, again, "复审", back=True)
    fire = Step("fire", "ZJ-04", "特殊建设工程消防设计审查", form="fire_design", short="消防设计审查")
    entry, exit_node = review(c, v.review(fire))
    fire_round = c.xor("fire_round", "消防设计审查（含退回后重审）")
    c.flow(passed, fire_round, "合格", condition=approved(*(s.key for s in DRAWINGS)))
    c.flow(fire_round, entry)
    fire_ok = _checked(c, exit_node, "fire", refuse, "消防设计审查")
    choose = c.script("set_permit_mode", "确定许可方式（申请告知承诺、事项允许且信用良好）",
                      'permit_by_commitment = bool(commitment_requested and intake_check["commitment_eligible"] '
                      'and credit["may_commit"])')
    mode = c.xor("permit_mode", "告知承诺审批？")
    c.flow(fire_ok, choose, "同意", condition=approved("fire"))
    c.flow(choose, mode)
    matter = v.matters["ZJ-05"]
    on_commitment = Review("permit_commitment", "施工许可（告知承诺制）审批", "hc", "ZJ-05",
                           int(matter["commitment_limit_committed_wd"]), int(matter["limit_statutory_wd"]),
                           form="permit_commitment", short="告知承诺审批")
    regular = Review("permit", "施工许可审查", "hc", "ZJ-05", int(matter["limit_committed_wd"]),
                     int(matter["limit_statutory_wd"]), form="construction_permit", short="施工许可审查")
    decided = c.xor("permit_decided", "许可决定")
    c_entry, c_exit = review(c, on_commitment)
    r_entry, r_exit = review(c, regular)
    c.flow(mode, c_entry, "是", condition="permit_by_commitment", side=True)
    c.flow(mode, r_entry, "否", default=True)
    c.flow(c_exit, decided)
    c.flow(r_exit, decided)
    issue = c.service("issue_permit", "核发建筑工程施工许可证（电子证照）", "certificate.issue",
                      params={"permit_type": q("construction"), "title": q("建筑工程施工许可证"),
                              "credit_code": "credit_code", "project_code": "project_code",
                              "project_name": "project_name", "by_commitment": "permit_by_commitment"},
                      result="permit_construction")
    c.flow(decided, issue, "准予许可",
           condition='(opinion_permit_commitment if permit_by_commitment else opinion_permit)["decision"] == "approve"')
    c.flow(decided, fire_round, "退回消防设计审查",
           condition='(opinion_permit_commitment if permit_by_commitment else opinion_permit)["decision"] == "return"',
           back=True)
    c.flow(decided, refuse, "不予许可", default=True, side=True)
    c.chain(issue, outcome(c, "stage_3_ok", "记录结果：施工许可办结", "stage_3_result", "ok"),
            c.end("stage_3_end", "施工许可办结"))
