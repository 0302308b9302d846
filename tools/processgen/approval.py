"""The skeleton both approval processes share; `Variant` says what differs (DOMAIN.md §5, DESIGN.md §6).

process: defaults → register → profile → credit → zone → [joint consultation] → approval (overall cap) → outcome
approval: stage 1 (intake + chain + 容缺 supervision) → [stage 2 ∥ gates] → stage 3 (drawings, fire, permit);
          a window task registers the applicant's withdrawal at any time (terminate ends the other branch).
after the permit: share with enforcement; 告知承诺 → post-check → revocation + credit record if false.

Review limits come from the catalog (processes/catalog.toml), so the BPMN and the matter list agree.
"""

from __future__ import annotations

from tools.processgen import stages
from tools.processgen.model import Container, Node, Process, Timer
from tools.processgen.patterns import cap, notice, outcome, q
from tools.processgen.spec import APPLICATION_VARIABLES, Variant


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
    stages.stage_1(v, stage_1.body)
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
    stages.stage_2(v, stage_2.body)
    stages.gates(v, gates.body)
    after_2 = _continue(c, join, "2", 'stage_2_result if stage_2_result != "ok" else gates_result')

    stage_3 = c.sub("stage_3", f"第三阶段：{v.stage_names[2]}（{v.stage_caps[2]}个工作日）", lead_department=v.stage_leads[2])
    cap(c, stage_3, "stage_3", f"第三阶段（{v.stage_names[2]}）", str(v.stage_caps[2]), "stage")
    c.flow(after_2, stage_3, "继续", condition='stage_2_result == "ok" and gates_result == "ok"')
    stages.stage_3(v, stage_3.body)
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
