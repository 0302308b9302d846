"""Camunda Modeler extensions (issue 12): what the engine does with each `camunda:` attribute and extension
element, so none is silently dropped.

- Used: `camunda:type="external"` + `camunda:topic` (jobs), `candidateGroups`, `assignee` (a literal username),
  `formKey` (forms/<key>.schema.json), `taskPriority` (job priority), `camunda:properties` (engine properties;
  on external service tasks every property also reaches the worker as an extension property).
- Accepted without effect, documented in processes/README.md (no finding): `asyncBefore`, `asyncAfter`, `async`,
  `exclusive` (every command already persists at each wait state and a failed step changes nothing), and the
  editor's `modelerTemplate` / `modelerTemplateVersion`.
- `camunda-extension-ignored` (warning): settings whose absence changes no path or data here (history TTL, version
  tag, due and follow-up dates, candidate users, job retry cycles, generated form fields, …).
- `camunda-extension-unsupported` (error): anything that would run code or move data in Camunda and silently
  would not here (listeners, input/output and call-activity mappings, connectors, Java delegates and
  expressions, DMN, `initiator`, error code variables, multi-instance collections, scripts and conditions in
  other languages), and any unknown `camunda:` element.
- `juel-unsupported` (error): a `${…}` where the engine evaluates no expression (assignee, candidate groups,
  form key, topic).
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import BPMN_NS, CAMUNDA_NS, Document, bpmn, local_name
from engine.bpmn.lint.property_values import RULES as PROPERTY_RULES

ACCEPTED = frozenset({"type", "topic", "candidateGroups", "assignee", "formKey", "taskPriority", "asyncBefore",
                      "asyncAfter", "async", "exclusive", "modelerTemplate", "modelerTemplateVersion"})
# attribute -> why it changes nothing here (English, Chinese)
IGNORED: dict[str, tuple[str, str]] = {
    "historyTimeToLive": ("history is append-only and kept for audit", "历史记录只追加、为审计永久保存"),
    "versionTag": ("definitions are versioned by deployment", "流程定义按部署自动编号版本"),
    "isStartableInTasklist": ("who may start is decided by roles", "谁可以发起由角色决定"),
    "candidateStarterGroups": ("who may start is decided by roles", "谁可以发起由角色决定"),
    "candidateStarterUsers": ("who may start is decided by roles", "谁可以发起由角色决定"),
    "candidateUsers": ("tasks go to departments (candidateGroups) and assignees only",
                       "任务只分配给部门（candidateGroups）和办理人"),
    "dueDate": ("due dates come from limit_committed_wd", "办理期限来自 limit_committed_wd"),
    "followUpDate": ("there is no follow-up date", "没有跟进日期"),
    "priority": ("user tasks have no priority", "用户任务没有优先级"),
    "jobPriority": ("there is no job executor", "引擎没有作业执行器"),
    "formRef": ("Camunda Forms are not rendered: use camunda:formKey with forms/<key>.schema.json",
                "不渲染 Camunda Forms：请使用 camunda:formKey 和 forms/<key>.schema.json"),
    "formRefBinding": ("Camunda Forms are not rendered", "不渲染 Camunda Forms"),
    "formRefVersion": ("Camunda Forms are not rendered", "不渲染 Camunda Forms"),
    "calledElementBinding": ("call activities use the latest version", "调用活动使用最新版本"),
    "calledElementVersion": ("call activities use the latest version", "调用活动使用最新版本"),
    "calledElementVersionTag": ("call activities use the latest version", "调用活动使用最新版本"),
    "calledElementTenantId": ("there are no tenants", "没有租户"),
    "variableName": ("conditional events are evaluated on every step", "条件事件在每一步都会计算"),
    "variableEvents": ("conditional events are evaluated on every step", "条件事件在每一步都会计算"),
}
# attribute -> what Camunda would do that this engine would not (English, Chinese)
UNSUPPORTED: dict[str, tuple[str, str]] = {
    "class": ("a Java delegate would run", "会执行 Java 委托类"),
    "expression": ("an expression would be evaluated for its side effects", "会为副作用计算表达式"),
    "delegateExpression": ("a Java delegate would run", "会执行 Java 委托"),
    "resultVariable": ("a result would be stored in a variable", "会把结果存入变量"),
    "decisionRef": ("a DMN decision would be evaluated", "会执行 DMN 决策"),
    "decisionRefBinding": ("a DMN decision would be evaluated", "会执行 DMN 决策"),
    "decisionRefVersion": ("a DMN decision would be evaluated", "会执行 DMN 决策"),
    "mapDecisionResult": ("a DMN decision would be evaluated", "会执行 DMN 决策"),
    "initiator": ("the starter's user id would be stored in a variable", "会把发起人 id 存入变量"),
    "errorCodeVariable": ("the caught error code would be stored in a variable", "会把捕获的错误码存入变量"),
    "errorMessageVariable": ("the caught error message would be stored in a variable", "会把错误消息存入变量"),
    "escalationCodeVariable": ("the escalation code would be stored in a variable", "会把升级码存入变量"),
    "collection": ("a multi-instance activity would iterate over it", "多实例活动会遍历该集合"),
    "elementVariable": ("a multi-instance activity would set it per item", "多实例活动会为每项设置该变量"),
    "resource": ("an external script would run", "会执行外部脚本"),
    "caseRef": ("a CMMN case would start", "会启动 CMMN 案例"),
    "variableMappingClass": ("variables would be mapped by Java code", "会用 Java 代码映射变量"),
    "variableMappingDelegateExpression": ("variables would be mapped by Java code", "会用 Java 代码映射变量"),
}
IGNORED_ELEMENTS: dict[str, tuple[str, str]] = {
    "failedJobRetryTimeCycle": ("retries come from the retries property and the worker's policy",
                                "重试次数来自 retries 属性和执行器的重试策略"),
    "formData": ("clerks get the form in forms/ (camunda:formKey) or a generic one",
                 "办理人员使用 forms/ 中的表单（camunda:formKey）或通用表单"),
    "potentialStarter": ("who may start is decided by roles", "谁可以发起由角色决定"),
}
# camunda:properties names the engine reads (DESIGN.md §6); others only reach workers of external tasks.
KNOWN_PROPERTIES = frozenset(PROPERTY_RULES) | {"department", "formJsonSchemaFilename", "candidateGroups"}
EXPRESSION_FREE = ("assignee", "candidateGroups", "candidateUsers", "formKey", "topic")
PYTHON = ("python", "python3", "text/x-python")


def _owner(element: etree._Element) -> str | None:
    current: etree._Element | None = element
    while current is not None:
        if current.get("id") and not local_name(current).endswith(("EventDefinition", "LoopCharacteristics")):
            return str(current.get("id"))
        current = current.getparent()
    return None


def check(doc: Document) -> Iterator[Finding]:
    for element in doc.root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace = etree.QName(element).namespace
        if namespace == BPMN_NS:
            yield from _attributes(doc, element)
            yield from _language(doc, element)
        elif namespace == CAMUNDA_NS and element.getparent() is not None \
                and element.getparent().tag == bpmn("extensionElements"):
            yield from _extension(doc, element)


def _attributes(doc: Document, element: etree._Element) -> Iterator[Finding]:
    owner, kind = _owner(element) or local_name(element), local_name(element)
    for qualified, value in element.attrib.items():
        name = etree.QName(qualified)
        if name.namespace != CAMUNDA_NS:
            continue
        attribute = name.localname
        if attribute in EXPRESSION_FREE and ("${" in value or "#{" in value):
            yield make(doc.file, "juel-unsupported", element.sourceline,
                       f"camunda:{attribute}={value!r} of {owner} is an expression: the engine takes it literally. "
                       "Write the value itself (department codes, a username, a form key, a topic)",
                       f"{owner} 的 camunda:{attribute}={value!r} 是表达式：引擎只接受字面值"
                       "（部门代码、用户名、表单键或主题）", owner)
        elif attribute == "type" and value != "external":
            yield _unsupported(doc, element, owner, f"camunda:type={value!r}",
                               ("only external tasks (camunda:type=\"external\") are run, by workers",
                                "只支持外部任务（camunda:type=\"external\"），由执行器完成"))
        elif attribute in ACCEPTED:
            continue
        elif attribute in UNSUPPORTED:
            yield _unsupported(doc, element, owner, f"camunda:{attribute}", UNSUPPORTED[attribute])
        else:
            why = IGNORED.get(attribute, ("the engine does not know this setting", "引擎不认识该设置"))
            yield make(doc.file, "camunda-extension-ignored", element.sourceline,
                       f"camunda:{attribute} on {kind} {owner} is ignored: {why[0]}",
                       f"{kind} {owner} 上的 camunda:{attribute} 被忽略：{why[1]}", owner)


def _unsupported(doc: Document, element: etree._Element, owner: str, what: str, why: tuple[str, str]) -> Finding:
    return make(doc.file, "camunda-extension-unsupported", element.sourceline,
                f"{what} on {owner} is not supported: in Camunda {why[0]}; this engine would silently not. "
                "Model it with service tasks (workers), script tasks in Python, or forms",
                f"{owner} 上的 {what} 不受支持：在 Camunda 中{why[1]}，本引擎不会执行。"
                "请改用服务任务（执行器）、Python 脚本任务或表单", owner)


def _language(doc: Document, element: etree._Element) -> Iterator[Finding]:
    """Scripts and conditions in another language than the sandbox's Python."""
    kind = local_name(element)
    language = element.get("scriptFormat") if kind == "scriptTask" else \
        element.get("language") if kind in ("conditionExpression", "condition") else None
    if language and language.strip().lower() not in PYTHON:
        owner = _owner(element) or kind
        what = "script" if kind == "scriptTask" else "condition"
        yield _unsupported(doc, element, owner, f"a {what} in {language}",
                           (f"the {what} would run in {language}", f"该{'脚本' if what == 'script' else '条件'}"
                            f"会以 {language} 执行"))


def _extension(doc: Document, element: etree._Element) -> Iterator[Finding]:
    tag = local_name(element)
    holder = element.getparent().getparent()  # extensionElements' owner
    owner = _owner(holder) or local_name(holder)
    if tag == "properties":
        yield from _properties(doc, element, holder, owner)
    elif tag in IGNORED_ELEMENTS:
        why = IGNORED_ELEMENTS[tag]
        yield make(doc.file, "camunda-extension-ignored", element.sourceline,
                   f"camunda:{tag} on {owner} is ignored: {why[0]}", f"{owner} 上的 camunda:{tag} 被忽略：{why[1]}",
                   owner)
    else:
        yield make(doc.file, "camunda-extension-unsupported", element.sourceline,
                   f"camunda:{tag} on {owner} is not supported: in Camunda it runs code or maps variables "
                   "(listeners, input/output, connectors, fields, call-activity in/out); this engine would silently "
                   "not. Model it with service tasks (workers), Python script tasks or forms",
                   f"{owner} 上的 camunda:{tag} 不受支持：在 Camunda 中它会执行代码或映射变量（监听器、输入输出、连接器、"
                   "字段注入、调用活动的 in/out），本引擎不会执行。请改用服务任务（执行器）、Python 脚本任务或表单", owner)


def _properties(doc: Document, element: etree._Element, holder: etree._Element, owner: str) -> Iterator[Finding]:
    external = holder.get(f"{{{CAMUNDA_NS}}}type") == "external"
    for prop in element.findall(f"{{{CAMUNDA_NS}}}property"):
        name = prop.get("name") or ""
        if name in KNOWN_PROPERTIES or external:
            continue  # engine properties; an external task's others reach its worker (extensionProperties)
        yield make(doc.file, "camunda-extension-ignored", prop.sourceline,
                   f"camunda:property {name!r} on {owner} is not an engine property: it is kept with the element "
                   "but changes nothing", f"{owner} 上的 camunda:property {name!r} 不是引擎属性：会随元素保存，但不起作用",
                   owner)
