"""User tasks (department, form), start forms and service tasks (topic, handler)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.bpmn.lint.context import LintContext
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.forms import FormCatalog, form_ref
from engine.bpmn.lint.model import CAMUNDA_NS, HUMAN_TASKS, SPIFF_NS, Document, Node, bpmn

_TOPIC = re.compile(r"^\S{1,200}$")  # as engine/bpmn/external_tasks.py


def candidate_groups(doc: Document, node: Node) -> tuple[list[str], str]:
    """(codes, source) as the engine resolves them: camunda:candidateGroups, the candidateGroups property, the lane."""
    text = node.element.get(f"{{{CAMUNDA_NS}}}candidateGroups")
    source = "camunda:candidateGroups"
    if not text and "candidateGroups" in node.properties:
        text, source = node.properties["candidateGroups"].value, "property candidateGroups"
    if text:
        return [g.strip() for g in text.split(",") if g.strip()], source
    lane = doc.lanes.get(node.id)
    if lane is not None and lane.get("id"):
        return [lane.get("id", "")], "lane"
    return [], ""


def check(doc: Document, ctx: LintContext, forms: FormCatalog) -> Iterator[Finding]:
    reported_lanes: set[str] = set()
    topics: frozenset[str] | None = None
    topics_read = False
    for node in doc.all_nodes():
        if node.kind in HUMAN_TASKS:
            yield from _department(doc, ctx, node, reported_lanes)
        if node.kind in HUMAN_TASKS or node.kind == "startEvent":
            yield from _form(doc, node, forms, required=node.kind == "userTask")
        if "department" in node.properties and ctx.departments is not None:
            prop = node.properties["department"]
            if prop.value.strip() and prop.value.strip() not in ctx.departments:
                yield _unknown_department(doc, ctx, node, prop.value.strip(), "property department", prop.line)
        if node.kind == "serviceTask":
            if not topics_read:
                topics, topics_read = ctx.topics(), True
            yield from _service(doc, node, topics)


def _department(doc: Document, ctx: LintContext, node: Node, reported_lanes: set[str]) -> Iterator[Finding]:
    groups, source = candidate_groups(doc, node)
    if not groups:
        yield make(doc.file, "user-task-no-department", node.line,
                   f"{node.kind} {node.label} has no department: set camunda:candidateGroups to department codes "
                   "or place it in a lane whose id is a department code (processes/departments.toml)",
                   f"{node.kind} {node.label} 没有办理部门：请将 camunda:candidateGroups 设为部门代码，"
                   "或把它放进 id 为部门代码的泳道（见 processes/departments.toml）", node.id)
        return
    if ctx.departments is None:
        return
    for code in groups:
        if code in ctx.departments:
            continue
        if source == "lane":
            lane = doc.lanes[node.id]
            if code in reported_lanes:
                continue
            reported_lanes.add(code)
            yield _unknown_department(doc, ctx, node, code, f"the id of the lane holding {node.id}", lane.sourceline)
        else:
            yield _unknown_department(doc, ctx, node, code, source, node.line)


def _unknown_department(doc: Document, ctx: LintContext, node: Node, code: str, source: str,
                        line: int | None) -> Finding:
    known = ", ".join(sorted(ctx.departments or ()))
    return make(doc.file, "unknown-department", line,
                f"{source} of {node.id} names department {code!r}, which is not in processes/departments.toml "
                f"(known: {known})",
                f"{node.id} 的 {source} 指定的部门 {code!r} 不在 processes/departments.toml 中（已有：{known}）", node.id)


def _form(doc: Document, node: Node, forms: FormCatalog, *, required: bool) -> Iterator[Finding]:
    ref = form_ref(node)
    if ref is None:
        if required:
            yield make(doc.file, "user-task-no-form", node.line,
                       f"user task {node.label} has no form: set the property formJsonSchemaFilename (a file in "
                       "forms/) or camunda:formKey",
                       f"用户任务 {node.label} 没有表单：请设置属性 formJsonSchemaFilename（forms/ 中的文件）或 camunda:formKey",
                       node.id)
        return
    if not ref.file_based:
        yield make(doc.file, "form-key-unsupported", ref.line,
                   f"form key {ref.name!r} of {node.id} is not a forms/ file: clerks get a generic form. Use "
                   "camunda:formKey=\"<key>\" with forms/<key>.schema.json",
                   f"{node.id} 的表单键 {ref.name!r} 不是 forms/ 中的文件：办理人员将看到通用表单。请使用 "
                   "camunda:formKey=\"<key>\" 并提供 forms/<key>.schema.json", node.id)
        return
    loaded = forms.load(ref.name)
    if loaded is None:
        return
    if loaded.missing:
        yield make(doc.file, "form-missing", ref.line,
                   f"form file forms/{ref.name} of {node.id} does not exist",
                   f"{node.id} 的表单文件 forms/{ref.name} 不存在", node.id)
    elif loaded.problem_en:
        yield make(doc.file, "form-invalid", ref.line, f"form of {node.id}: {loaded.problem_en}",
                   f"{node.id} 的表单：{loaded.problem_zh}", node.id)


def service_topic(node: Node) -> str | None:
    extensions = node.element.find(bpmn("extensionElements"))
    operator = extensions.find(f"{{{SPIFF_NS}}}serviceTaskOperator") if extensions is not None else None
    if operator is not None and operator.get("id"):
        return operator.get("id")
    if node.element.get(f"{{{CAMUNDA_NS}}}type") == "external":
        return node.element.get(f"{{{CAMUNDA_NS}}}topic")
    return None


def _service(doc: Document, node: Node, topics: frozenset[str] | None) -> Iterator[Finding]:
    topic = service_topic(node)
    if not topic or not _TOPIC.match(topic):
        hint = ""
        if node.element.get(f"{{{CAMUNDA_NS}}}topic") and node.element.get(f"{{{CAMUNDA_NS}}}type") != "external":
            hint = " (camunda:topic needs camunda:type=\"external\")"
        elif topic:
            hint = f" ({topic!r} contains spaces)"
        yield make(doc.file, "service-task-no-topic", node.line,
                   f"service task {node.label} has no usable topic{hint}: add spiffworkflow:serviceTaskOperator "
                   "id=\"<domain>.<action>\" or camunda:type=\"external\" camunda:topic=\"<domain>.<action>\"",
                   f"服务任务 {node.label} 没有可用的主题{hint}：请添加 spiffworkflow:serviceTaskOperator "
                   "id=\"<domain>.<action>\" 或 camunda:type=\"external\" camunda:topic=\"<domain>.<action>\"", node.id)
        return
    if topics is not None and topic not in topics:
        yield make(doc.file, "unknown-topic", node.line,
                   f"no handler in workers/ serves topic {topic!r} of {node.id} (a remote worker may; known topics: "
                   f"{', '.join(sorted(topics)) or 'none'})",
                   f"workers/ 中没有处理主题 {topic!r}（{node.id}）的程序（远程 worker 可能处理；已注册主题："
                   f"{'、'.join(sorted(topics)) or '无'}）", node.id)
