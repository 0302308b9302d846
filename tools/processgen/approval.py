"""The skeleton both approval processes share; `Variant` says what differs (DOMAIN.md §5, DESIGN.md §6).

process: defaults → register → profile → credit → zone → [joint consultation] → approval (overall cap) → outcome
approval: stage 1 (intake + chain + 容缺 supervision) → [stage 2 ∥ gates] → stage 3 (drawings, fire, permit);
          a window task registers the applicant's withdrawal at any time (terminate ends the other branch).
after the permit: share with enforcement; 告知承诺 → post-check → revocation + credit record if false.

Review limits come from the catalog (processes/catalog.toml), so the BPMN and the matter list agree.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.processgen.model import Container, Node, Process, Timer
from tools.processgen.patterns import Review, approved, cap, notice, outcome, q, review

CATALOG = Path(__file__).resolve().parents[2] / "processes" / "catalog.toml"
# The online application's fields (the start variables) and what `application.register` normalizes.
APPLICATION_VARIABLES = ("credit_code", "project_name", "project_code", "zone_id", "industry", "materials",
                         "channel", "consultation_requested", "commitment_requested", "cap_wd")
# Each stage writes its own result (`stage_1_result`, `stage_2_result`, `gates_result`, `stage_3_result`) on its
# last step, never before: a parallel join merges the branches' data and the last one wins, so a result set
# before `fork_stage_2` would reach `join_stage_2` stale from the other branch and overwrite a refusal.


def load_matters(path: Path = CATALOG) -> dict[str, dict[str, Any]]:
    with path.open("rb") as fh:
        return {m["code"]: m for m in tomllib.load(fh)["matters"]}


@dataclass(frozen=True)
class Step:
    """A review in a variant: its key, the catalog matter and how the diagram names it."""

    key: str
    matter: str
    name: str
    form: str = "review_opinion"
    short: str | None = None
    result: str | None = None


@dataclass(frozen=True)
class Gate:
    step: Step
    zone_code: str | None = None  # the regional assessment that exempts a project in a covered zone


@dataclass
class Variant:
    key: str
    name: str
    kind: str
    cap_wd: int
    stage_caps: tuple[int, int, int]
    stage_leads: tuple[str, str, str]
    stage_names: tuple[str, str, str]
    stage_1_chain: list[Step]
    stage_1_permit: str
    stage_2_extra: list[Step]  # reviews beside the planning permit after the design review
    gates: list[Gate]
    matters: dict[str, dict[str, Any]] = field(default_factory=load_matters)

    def review(self, step: Step) -> Review:
        m = self.matters[step.matter]
        return Review(step.key, step.name, m["department"], step.matter, int(m["limit_committed_wd"]),
                      int(m["limit_statutory_wd"]), form=step.form,
                      silent_default=bool(m.get("silent_default", True)), short=step.short)


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


def build(v: Variant) -> Process:
    p = Process(v.key, v.name, calendar="workday", variables=", ".join(APPLICATION_VARIABLES))
    p.documentation = (f"{v.name}：从受理到施工许可总时限 cap_wd（默认{v.cap_wd}个工作日），分三个阶段"
                       f"（{'/'.join(map(str, v.stage_caps))}个工作日），每阶段一个牵头部门，部门并联审查，超时默认同意"
                       "（消防、人防除外，超时督办）。")
    start = p.start("start", "申请人提交申请（网上申报或窗口收件）")
    defaults = p.script(
        "set_defaults", f"设定时限默认值（总时限{v.cap_wd}个工作日）",
        "\n".join([f"cap_wd_default = {v.cap_wd}", f"process_key = {v.key!r}", f"process_kind = {v.kind!r}",
                   'approval_outcome = "in_progress"', "rongque = False"]))
    register = p.service("register_application", "登记申请：校验申报信息、赋项目代码", "application.register")
    profile = p.service("load_profile", "调取申请人基本信息（一次录入、全程复用）", "applicant.load_profile",
                        params={"credit_code": "credit_code"}, result="applicant")
    credit = p.service("check_credit", "查询申请人信用记录", "credit.check",
                       params={"credit_code": "credit_code"}, result="credit")
    zone = p.service("lookup_zone", "查询区域评估覆盖情况", "zone.lookup",
                     params={"zone_id": "zone_id", "industry": "industry"},
                     result="zone")
    ask = p.xor("consultation_requested_gw", "申请联合咨询？")
    consult = p.user("joint_consultation", "联合咨询（应申请人申请，申报前）", candidateGroups="nrp",
                     formJsonSchemaFilename="consultation.schema.json", resultVariable="consultation")
    consulted = p.xor("consultation_done")
    approval = p.sub("approval", f"审批阶段：立项至施工许可（总时限{v.cap_wd}个工作日）", lead_department="window")
    cap(p, approval, "overall", "立项至施工许可总时限", 'f"P{cap_wd}D"', "overall")
    p.chain(start, defaults, register, profile, credit, zone, ask)
    p.flow(ask, consult, "是", condition="consultation_requested")
    p.flow(ask, consulted, "否", default=True)
    p.chain(consult, consulted, approval)
    _approval_body(v, approval.body)
    _after_approval(p, approval)
    return p


def _after_approval(p: Process, approval: Node) -> None:
    result = p.xor("approval_result", "审批结果")
    p.flow(approval, result)
    share = p.service("share_permit", "施工许可结果推送执法监管部门", "enforcement.share",
                      params={"action": q("issued"), "permit": "permit_construction", "project_code": "project_code",
                              "credit_code": "credit_code"}, result="shared_permit")
    p.flow(result, share, "准予许可", condition='approval_outcome == "permit"')
    for value, label in (("refused", "不予许可"), ("not_accepted", "不予受理"), ("returned", "退件"),
                         ("withdrawn", "申请人撤回")):
        end = p.end(f"end_{value}", label)
        if value == "withdrawn":
            p.flow(result, end, label, default=True)
        else:
            p.flow(result, end, label, condition=f"approval_outcome == {value!r}")
    committed = p.xor("commitment_used", "告知承诺方式取得许可？")
    permitted = p.end("end_permitted", "准予施工许可")
    p.chain(share, committed)
    p.flow(committed, permitted, "否", default=True)
    check = p.user("post_check", "告知承诺事项事后核查", candidateGroups="hc", department="hc",
                   formJsonSchemaFilename="post_check.schema.json", resultVariable="post_check_result")
    p.flow(committed, check, "是", condition="permit_by_commitment")
    late = p.boundary("overdue_post_check", "20个工作日未核查", check, Timer("duration", "P20D"), interrupting=False)
    escalate = p.service("escalate_post_check", "核查逾期督办（报局领导）", "escalation.raise",
                         params={"level": q("review"), "subject": q("post_check"), "department": q("hc"),
                                 "title": q("告知承诺事后核查超过20个工作日"), "limit_wd": "20",
                                 "project_code": "project_code"}, result="escalation_post_check")
    p.chain(late, escalate, p.end("post_check_escalated", "已督办"))
    truthful = p.xor("commitment_true", "承诺是否属实？")
    p.chain(check, truthful)
    p.flow(truthful, p.end("end_permitted_checked", "许可有效（承诺属实）"), "属实",
           condition='post_check_result["commitment_true"]')
    revoke = p.service("revoke_permit", "撤销施工许可（行政许可法第六十九条）", "certificate.revoke",
                       params={"permit": "permit_construction", "reason": 'post_check_result["findings"]',
                               "credit_code": "credit_code", "project_code": "project_code"}, result="revocation")
    record = p.service("record_false_commitment", "记入信用记录（虚假承诺，取消告知承诺资格）", "credit.record",
                       params={"credit_code": "credit_code", "kind": q("false_commitment"),
                               "reason": 'post_check_result["findings"]', "project_code": "project_code"},
                       result="credit_record")
    share_revocation = p.service("share_revocation", "撤销结果推送执法监管部门", "enforcement.share",
                                 params={"action": q("revoked"), "permit": "revocation",
                                         "project_code": "project_code", "credit_code": "credit_code"},
                                 result="shared_revocation")
    tell = notice(p, "notify_revocation", "revocation", "撤销行政许可决定书",
                  permit_no='revocation["number"]')
    revoked = outcome(p, "set_revoked", "记录结果：撤销许可", "approval_outcome", "revoked")
    p.flow(truthful, revoke, "不属实", default=True)
    p.chain(revoke, record, share_revocation, tell, revoked, p.end("end_revoked", "撤销许可"))


def _approval_body(v: Variant, c: Container) -> None:
    start = c.start("approval_start", "受理开始（计时起点）")
    fork = c.par("approval_fork", "审批与撤回登记并行")
    c.chain(start, fork)
    withdraw = c.user("withdraw", "登记申请人撤回申请（申请人提出时办理）", candidateGroups="window",
                      formJsonSchemaFilename="withdrawal.schema.json", resultVariable="withdrawal")
    c.flow(fork, withdraw, side=True)
    c.chain(withdraw, notice(c, "notify_withdrawal", "withdrawal", "撤回申请确认书"),
            outcome(c, "set_withdrawn", "记录结果：申请人撤回", "approval_outcome", "withdrawn"),
            c.end("approval_withdrawn", "已撤回", terminate=True))

    stage_1 = c.sub("stage_1", f"第一阶段：{v.stage_names[0]}（{v.stage_caps[0]}个工作日）", lead_department=v.stage_leads[0])
    cap(c, stage_1, "stage_1", f"第一阶段（{v.stage_names[0]}）", str(v.stage_caps[0]), "stage")
    c.flow(fork, stage_1)
    _stage_1(v, stage_1.body)
    after_1 = _continue(c, stage_1, "1", "stage_1_result")

    split = c.par("fork_stage_2", "工程建设许可与施工许可前置事项并联")
    c.flow(after_1, split, "继续", condition='stage_1_result == "ok"')
    stage_2 = c.sub("stage_2", f"第二阶段：{v.stage_names[1]}（{v.stage_caps[1]}个工作日）", lead_department=v.stage_leads[1])
    cap(c, stage_2, "stage_2", f"第二阶段（{v.stage_names[1]}）", str(v.stage_caps[1]), "stage")
    gates = c.sub("gates", "施工许可前置事项并联审批（环评、节能等）", lead_department="eco")
    join = c.par("join_stage_2", "汇合")
    c.flow(split, stage_2)
    c.flow(split, gates)
    c.flow(stage_2, join)
    c.flow(gates, join)
    _stage_2(v, stage_2.body)
    _gates(v, gates.body)
    after_2 = _continue(c, join, "2", 'stage_2_result if stage_2_result != "ok" else gates_result')

    stage_3 = c.sub("stage_3", f"第三阶段：{v.stage_names[2]}（{v.stage_caps[2]}个工作日）", lead_department=v.stage_leads[2])
    cap(c, stage_3, "stage_3", f"第三阶段（{v.stage_names[2]}）", str(v.stage_caps[2]), "stage")
    c.flow(after_2, stage_3, "继续", condition='stage_2_result == "ok" and gates_result == "ok"')
    _stage_3(v, stage_3.body)
    after_3 = _continue(c, stage_3, "3", "stage_3_result")
    permit = outcome(c, "set_permit", "记录结果：准予许可", "approval_outcome", "permit")
    c.flow(after_3, permit, "准予许可", condition='stage_3_result == "ok"')
    c.chain(permit, c.end("approval_done", "审批办结", terminate=True))


def _continue(c: Container, after: Node, n: str, why: str) -> Node:
    """After a stage: go on, or stop the whole approval with that stage's result (terminate ends the withdrawal
    task waiting beside it)."""
    gw = c.xor(f"after_stage_{n}", f"第{'一二三'[int(n) - 1]}阶段是否办结？")
    c.flow(after, gw)
    stop = c.script(f"stop_after_stage_{n}", "记录结果：审批终止", f"approval_outcome = {why}")
    c.flow(gw, stop, "终止", default=True, side=True)
    c.chain(stop, c.end(f"approval_stopped_{n}", "审批终止", terminate=True))
    return gw


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


def _intake(c: Container) -> None:
    start = c.start("intake_start", "收件")
    check = c.service("check_materials", "材料核验（对照事项清单）", "catalog.check_materials",
                      params={"process": "process_key", "materials": "materials", "covered": 'zone["covers"]'},
                      result="intake_check")
    window = c.sub("decide_intake", "受理决定（法定5日内作出）")
    body = window.body
    decision = body.user("completeness_decision", "受理审查：受理 / 容缺受理 / 一次性告知补正 / 不予受理",
                         candidateGroups="window", department="window", matter="CK-01",
                         formJsonSchemaFilename="intake_decision.schema.json", resultVariable="intake_decision",
                         limit_committed_wd=1, limit_statutory_wd=5, silent_default=False)
    body.chain(body.start("decide_intake_start"), decision, body.end("decide_intake_end"))
    deadline = c.boundary("deadline_intake", "5日内未作决定", window, Timer("duration", "P5D"), interrupting=True)
    deemed = c.service("deem_accepted", "逾期未告知，视为受理（行政许可法第三十二条）", "intake.deem_accepted",
                       params={"project_code": "project_code", "credit_code": "credit_code"},
                       result="intake_decision")
    decided = c.xor("intake_decided")
    again = c.xor("intake_round", "收件 / 补正后重新核验")
    c.chain(start, again, check, window, decided)
    c.chain(deadline, deemed, decided)

    route = c.xor("intake_route", "受理决定")
    c.flow(decided, route)
    accept = c.xor("intake_accept")
    correct = c.xor("intake_correct")
    c.flow(route, accept, "受理", condition='intake_decision["decision"] == "accept"')
    allowed = c.xor("rongque_allowed", "符合容缺受理条件？")
    c.flow(route, allowed, "容缺受理", condition='intake_decision["decision"] == "accept_with_gaps"')
    c.flow(route, correct, "一次性告知补正", condition='intake_decision["decision"] == "correct"')
    refuse = notice(c, "notify_not_accepted", "not_accepted", "不予受理决定书")
    c.flow(route, refuse, "不予受理", default=True, side=True)
    c.chain(refuse, outcome(c, "set_not_accepted", "记录结果：不予受理", "stage_1_result", "not_accepted"),
            c.end("intake_not_accepted", "不予受理"))

    mark = c.script("set_rongque", "记录容缺受理承诺", "rongque = True")
    c.flow(allowed, mark, "是", condition='intake_check["rongque_eligible"] and not credit["blacklisted"]')
    c.flow(mark, accept)
    no_rongque = notice(c, "notify_rongque_refused", "rongque_refused", "不予容缺受理告知书（转一次性告知补正）")
    c.flow(allowed, no_rongque, "否（信用或事项不符）", default=True, side=True)
    c.flow(no_rongque, correct)

    tell = notice(c, "notify_correction", "correction", "一次性告知补正通知书")
    supplement = c.user("correction", "登记申请人补正材料（不计入审批时限）", candidateGroups="window",
                        pauses_clock="supplement", formJsonSchemaFilename="correction.schema.json",
                        resultVariable="correction")
    corrected = c.xor("correction_result", "是否补正？")
    c.chain(correct, tell, supplement, corrected)
    merge = c.script("merge_correction", "合并补正材料",
                     'materials = sorted(set(materials + correction.get("materials", [])))')
    c.flow(corrected, merge, "已补正", condition='correction["action"] == "supplied"')
    c.flow(merge, again, "重新核验", back=True)
    abandoned = outcome(c, "set_abandoned", "记录结果：申请人放弃", "stage_1_result", "withdrawn")
    c.flow(corrected, abandoned, "放弃申请", default=True)
    c.flow(abandoned, c.end("intake_abandoned", "申请人放弃"))
    accepted = notice(c, "notify_acceptance", "acceptance", "受理通知书", rongque="rongque")
    c.chain(accept, outcome(c, "set_accepted", "记录结果：已受理", "stage_1_result", "ok"), accepted,
            c.end("intake_accepted", "已受理"))


def _stage_1(v: Variant, c: Container) -> None:
    start = c.start("stage_1_start")
    intake = c.sub("intake", "一窗受理", lead_department="window")
    _intake(intake.body)
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


def _stage_2(v: Variant, c: Container) -> None:
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


def _gates(v: Variant, c: Container) -> None:
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


def _stage_3(v: Variant, c: Container) -> None:
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
