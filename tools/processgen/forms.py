"""The forms of the approval processes: one JSON Schema 2020-12 file per kind of user task, Chinese titles,
`x-labels` for enum values and `x-prefill` (a dotted path into the task's data: the applicant profile and earlier
steps) for fields a clerk should not have to type again. Written by `python -m tools.processgen`; the files in
forms/ are the source of truth once committed.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA = "https://json-schema.org/draft/2020-12/schema"


def _enum(title: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"type": "string", "title": title, "enum": list(labels), "x-labels": labels}


def _text(title: str, *, min_length: int = 0, max_length: int = 2000, **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "string", "title": title, "maxLength": max_length, **extra}
    if min_length:
        field["minLength"] = min_length
    return field


def _shown(title: str, path: str) -> dict[str, Any]:
    """Context shown on the form, prefilled from the task's data, not edited by the clerk."""
    return {"type": "string", "title": title, "readOnly": True, "x-prefill": path, "maxLength": 200}


def _codes(title: str, *, min_items: int = 0, prefill: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "array", "title": title, "items": {"type": "string", "minLength": 1,
                                                                          "maxLength": 64},
                             "uniqueItems": True, "maxItems": 50}
    if min_items:
        field["minItems"] = min_items
    if prefill:
        field["x-prefill"] = prefill
    return field


def _number(title: str, *, minimum: float = 0, exclusive: bool = False, unit: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "number", "title": title}
    field["exclusiveMinimum" if exclusive else "minimum"] = minimum
    if unit:
        field["x-unit"] = unit
    return field


CONTEXT = {"project_name": _shown("项目名称", "project_name"), "applicant_name": _shown("申请人", "applicant.name")}
APPROVE = {"approve": "同意", "reject": "不同意"}
OPINION = _text("审查意见", min_length=2)
CONDITIONS = _text("附加条件（可选）", max_length=1000)


def _form(title: str, properties: dict[str, Any], required: list[str], *, context: bool = True,
          description: str | None = None, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    form: dict[str, Any] = {"$schema": SCHEMA, "title": title}
    if description:
        form["description"] = description
    form["type"] = "object"
    form["properties"] = {**(CONTEXT if context else {}), **properties}
    form["required"] = required
    if rules:
        form["allOf"] = rules
    form["additionalProperties"] = False
    return form


def _when(field: str, value: str, required: list[str], **constraints: Any) -> dict[str, Any]:
    then: dict[str, Any] = {"required": required}
    if constraints:
        then["properties"] = constraints
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}


def _review(title: str, extra: dict[str, Any] | None = None, extra_required: list[str] | None = None,
            decision: dict[str, str] | None = None, description: str | None = None) -> dict[str, Any]:
    properties = {"decision": _enum("审查结论", decision or APPROVE), **(extra or {}), "opinion": OPINION,
                  "conditions": CONDITIONS, "document_no": _text("文书编号（可选）", max_length=64)}
    return _form(title, properties, ["decision", *(extra_required or []), "opinion"], description=description)


FORMS: dict[str, dict[str, Any]] = {
    "applicant_profile": _form(
        "申请人基本信息（一次录入，全程复用）",
        {
            "credit_code": {"type": "string", "title": "统一社会信用代码", "pattern": "^[0-9A-Za-z]{18}$"},
            "name": _text("单位名称", min_length=2, max_length=100),
            "legal_representative": _text("法定代表人", min_length=2, max_length=50),
            "contact_name": _text("联系人", min_length=2, max_length=50),
            "contact_phone": {"type": "string", "title": "联系电话",
                              "pattern": "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"},
            "address": _text("单位地址", min_length=5, max_length=200),
            "email": {"type": "string", "title": "电子邮箱（可选）", "format": "email", "maxLength": 100},
        },
        ["credit_code", "name", "legal_representative", "contact_name", "contact_phone", "address"],
        context=False,
        description="统一社会信用代码按 GB 32100-2015 校验（含校验位）。信息保存一次，本单位所有项目的所有审批事项复用，不再重复提交。",
    ),
    "intake_decision": _form(
        "受理审查（一窗受理）",
        {
            "decision": _enum("受理决定", {"accept": "受理", "accept_with_gaps": "容缺受理",
                                        "correct": "一次性告知补正", "refuse": "不予受理"}),
            "missing_secondary": _codes("容缺材料（次要材料编码）", prefill="intake_check.missing_secondary"),
            "rongque_due_wd": {"type": "integer", "title": "容缺材料承诺补交期限（工作日）", "minimum": 1, "maximum": 10},
            "corrections": {"type": "array", "title": "一次性告知补正事项", "maxItems": 50,
                            "items": {"type": "string", "minLength": 2, "maxLength": 500}},
            "reasons": _text("不予受理理由及依据", max_length=1000),
            "opinion": _text("受理意见（可选）"),
        },
        ["decision"],
        description="依据行政许可法第三十二条：当场或5日内作出受理、一次性告知补正或不予受理决定；逾期未告知的，自收到材料之日起即为受理。",
        rules=[
            _when("decision", "accept_with_gaps", ["missing_secondary", "rongque_due_wd"],
                  missing_secondary={"minItems": 1}),
            _when("decision", "correct", ["corrections"], corrections={"minItems": 1}),
            _when("decision", "refuse", ["reasons"], reasons={"minLength": 2}),
        ],
    ),
    "application": _form(
        "工程建设项目审批申请（一表申报）",
        {
            "credit_code": {"type": "string", "title": "申请人统一社会信用代码", "pattern": "^[0-9A-Za-z]{18}$",
                            "x-prefill": "applicant.credit_code"},
            "project_name": _text("项目名称", min_length=2, max_length=100),
            "zone_id": {"type": "string", "title": "所在区域评估片区（可选）", "maxLength": 64},
            "industry": {"type": "string", "title": "行业（可选）", "maxLength": 64},
            "materials": _codes("已提交材料编码（对照事项清单）"),
            "channel": _enum("申报渠道", {"online": "网上申报（不跑腿）", "window": "窗口收件（跑一次）"}),
            "consultation_requested": {"type": "boolean", "title": "申请申报前联合咨询", "default": False},
            "commitment_requested": {"type": "boolean", "title": "施工许可申请告知承诺制", "default": False},
            "cap_wd": {"type": "integer", "title": "审批总时限（工作日，默认按流程）", "minimum": 1, "maximum": 365},
        },
        ["credit_code", "project_name", "materials", "channel"],
        context=False,
        description="申请人基本信息一次录入后自动复用，本表只填写项目信息。",
    ),
    "correction": _form(
        "登记补正材料",
        {"action": _enum("补正结果", {"supplied": "申请人已按一次性告知补正", "abandon": "申请人放弃申请"}),
         "materials": _codes("补正材料编码"), "note": _text("说明（可选）", max_length=1000)},
        ["action"], rules=[_when("action", "supplied", ["materials"], materials={"minItems": 1})],
    ),
    "rongque_supply": _form(
        "登记容缺材料补交",
        {"materials": _codes("补交材料编码", min_items=1, prefill="intake_decision.missing_secondary"),
         "received_on": {"type": "string", "format": "date", "title": "收到日期"},
         "note": _text("说明（可选）", max_length=1000)},
        ["materials", "received_on"],
    ),
    "withdrawal": _form(
        "登记申请人撤回申请",
        {"reason": _text("撤回理由", min_length=2, max_length=1000),
         "confirmed": {"type": "boolean", "const": True, "title": "已核实申请人书面撤回申请"}},
        ["reason", "confirmed"],
    ),
    "consultation": _form(
        "联合咨询意见（申报前）",
        {"departments": _codes("参加部门", min_items=1),
         "summary": _text("咨询意见汇总", min_length=2),
         "preconditions_explained": {"type": "boolean", "title": "已一次性告知全部审批事项、材料和前置条件"}},
        ["departments", "summary", "preconditions_explained"],
    ),
    "review_opinion": _review("部门审查意见"),
    "filing": _review("企业投资项目备案", {"filing_no": _text("备案证明编号", max_length=64)}),
    "land_permit": _review(
        "用地审查意见",
        {"land_area_m2": _number("用地面积", exclusive=True, unit="平方米"),
         "land_use": _enum("用地性质", {"residential": "居住用地", "commercial": "商业服务业用地",
                                    "industrial": "工业用地", "public": "公共管理与公共服务用地",
                                    "infrastructure": "公用设施用地"})},
        ["land_area_m2", "land_use"],
    ),
    "investment_approval": _review(
        "投资审批意见（发展改革）",
        {"approved_investment_wan": _number("批复总投资", unit="万元"), "approval_no": _text("批复文号", max_length=64)},
        ["approved_investment_wan"],
    ),
    "design_review": _review(
        "设计方案审查（牵头部门）",
        {"expert_review": {"type": "boolean", "title": "需要组织专家评审", "default": False}},
        ["expert_review"],
    ),
    "planning_permit": _review("建设工程规划许可审查", {"building_area_m2": _number("总建筑面积", exclusive=True,
                                                                               unit="平方米")},
                               ["building_area_m2"]),
    "cad_approval": _review(
        "人防工程建设审批",
        {"mode": _enum("建设方式", {"build": "结合民用建筑修建防空地下室", "relocate": "易地建设（缴纳易地建设费）"}),
         "shelter_area_m2": _number("防空地下室面积", unit="平方米")},
        ["mode"],
    ),
    "eia": _review("环境影响评价审批", {"category": _enum("评价文件类别", {"report": "环境影响报告书",
                                                                   "table": "环境影响报告表"})}, ["category"]),
    "energy_review": _review("节能审查", {"annual_energy_tce": _number("年综合能源消费量", unit="吨标准煤")},
                             ["annual_energy_tce"]),
    "water_permit": _review("水土保持方案审批"),
    "drawing_review": _review(
        "施工图联合审查意见",
        {"issues": {"type": "array", "title": "审查发现的问题", "maxItems": 100,
                    "items": {"type": "string", "minLength": 2, "maxLength": 500}}},
        decision={"approve": "合格", "revise": "不合格，退回修改"},
    ),
    "fire_design": _review("特殊建设工程消防设计审查"),
    "construction_permit": _review(
        "施工许可审查", {"permit_scope": _text("许可范围（可选）", max_length=500)},
        decision={"approve": "准予许可", "reject": "不予许可", "return": "退回消防设计审查"},
    ),
    "permit_commitment": _review(
        "施工许可（告知承诺制）审批",
        {"commitment_signed": {"type": "boolean", "const": True, "title": "申请人已签署告知承诺书"}},
        ["commitment_signed"],
        description="告知承诺制：申请人书面承诺符合许可条件，审批部门据承诺作出决定，事后核查；承诺不实的撤销许可并记入信用记录。",
    ),
    "post_check": _form(
        "告知承诺事项事后核查",
        {"commitment_true": {"type": "boolean", "title": "承诺属实"},
         "findings": _text("核查情况", min_length=2),
         "checked_on": {"type": "string", "format": "date", "title": "核查日期"}},
        ["commitment_true", "findings", "checked_on"],
    ),
    "joint_meeting": _form(
        "联席会议纪要",
        {"decision": _enum("会议结论", {"approve": "协调一致，通过", "revise": "退回申请人修改后重新审查",
                                    "refuse": "不予通过"}),
         "attendees": _codes("参会部门", min_items=2),
         "minutes": _text("会议纪要", min_length=2, max_length=5000)},
        ["decision", "attendees", "minutes"],
    ),
    "expert_review": _form(
        "专家评审",
        {"conclusion": _enum("评审结论", {"pass": "通过", "revise": "修改后通过"}),
         "experts": {"type": "array", "title": "评审专家", "minItems": 3, "maxItems": 15,
                     "items": {"type": "string", "minLength": 2, "maxLength": 50}},
         "opinion": OPINION},
        ["conclusion", "experts", "opinion"],
    ),
    "public_notice": _form(
        "批前公示",
        {"started_on": {"type": "string", "format": "date", "title": "公示开始日期"},
         "ended_on": {"type": "string", "format": "date", "title": "公示结束日期"},
         "objections": {"type": "integer", "title": "收到异议（件）", "minimum": 0},
         "result": _text("公示结果", min_length=2, max_length=1000)},
        ["started_on", "ended_on", "objections", "result"],
    ),
    "revision": _form(
        "登记修改后的设计文件",
        {"summary": _text("修改说明", min_length=2), "materials": _codes("修改后提交的材料编码", min_items=1)},
        ["summary", "materials"],
    ),
}


def render(form: dict[str, Any]) -> bytes:
    return (json.dumps(form, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
