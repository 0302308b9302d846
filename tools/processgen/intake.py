"""The one-window intake (一窗受理): materials check, the completeness decision within 5 days (deemed acceptance
otherwise), 容缺 eligibility, the one-time correction loop, refusal; every decision a numbered notice."""

from __future__ import annotations

from tools.processgen.model import Container, Timer
from tools.processgen.patterns import notice, outcome


def intake(c: Container) -> None:
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
