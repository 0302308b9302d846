"""Document-level checks that run before the flow model exists: safe XML, ids, the BPMN XSD and SpiffWorkflow's
own parse. Each returns findings; the pipeline decides whether later rules can run."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import ACTIVITIES, BPMN_NS, BPMNDI_NS, EVENTS, GATEWAYS, local_name
from engine.bpmn.parsing import ParsedProcess, load_process
from engine.bpmn.xml import parse_xml
from engine.errors import HostileXml, InvalidBpmn, SandboxViolation

# Ids that are xs:ID in the BPMN XSD live in these namespaces; extension ids (a serviceTaskOperator's topic) do not.
_ID_NAMESPACES = frozenset({BPMN_NS, BPMNDI_NS})
# bpmn-js / Camunda Modeler ids: a type prefix, "_" and a random base-36 tail with a digit (Activity_0x9f,
# Flow_1k2d5ny, StartEvent_1), and Signavio's sid-<uuid>. A readable tail without digits (Flow_approved) passes.
_GENERATED = re.compile(
    r"^(?:(?:[A-Z][A-Za-z]*)_(?=[0-9a-z]*[0-9])[0-9a-z]{1,8}|sid-[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$")
_READ_BY_PEOPLE = ACTIVITIES | EVENTS | GATEWAYS | {"sequenceFlow", "process", "lane", "dataObject"}
_MAX_SCHEMA_FINDINGS = 20
_XSD_LOCK = threading.Lock()  # an XMLSchema's error_log belongs to its last validation


def read(data: bytes, file: str) -> tuple[etree._ElementTree | None, list[Finding], InvalidBpmn | None]:
    """Parse untrusted bytes; a refusal is one `xml-malformed` finding (and the refusal itself, for deploy)."""
    try:
        return parse_xml(data, file=file), [], None
    except InvalidBpmn as exc:  # HostileXml included
        reason = _without_location(exc.detail, file, exc.line)
        if isinstance(exc, HostileXml):
            en, zh = f"refused for safety: {reason}", f"出于安全原因拒绝：{reason}"
        else:
            en, zh = reason, f"XML 格式不正确：{reason}"
        return None, [make(file, "xml-malformed", exc.line, en, zh)], exc


def duplicate_ids(tree: etree._ElementTree, file: str) -> list[Finding]:
    first_seen: dict[str, etree._Element] = {}
    findings: list[Finding] = []
    for element in tree.getroot().iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace not in _ID_NAMESPACES:
            continue
        element_id = element.get("id")
        if not element_id:
            continue
        earlier = first_seen.setdefault(element_id, element)
        if earlier is not element:
            findings.append(make(
                file, "duplicate-id", element.sourceline,
                f"id {element_id!r} of this {local_name(element)} is already used by the {local_name(earlier)} "
                f"on line {earlier.sourceline}: ids must be unique",
                f"此 {local_name(element)} 的 id {element_id!r} 已被第 {earlier.sourceline} 行的 {local_name(earlier)} "
                "使用：id 必须唯一", element_id))
    return findings


# Attributes that name another element of the document, by the element that carries them.
_REFERENCES: dict[str, tuple[str, ...]] = {
    "sequenceFlow": ("sourceRef", "targetRef"),
    "boundaryEvent": ("attachedToRef",),
    "exclusiveGateway": ("default",),
    "inclusiveGateway": ("default",),
    "complexGateway": ("default",),
    "errorEventDefinition": ("errorRef",),
    "escalationEventDefinition": ("escalationRef",),
    "messageEventDefinition": ("messageRef",),
    "signalEventDefinition": ("signalRef",),
    "dataObjectReference": ("dataObjectRef",),
    "participant": ("processRef",),
}


def dangling_references(tree: etree._ElementTree, file: str) -> list[Finding]:
    """References to ids that do not exist (SpiffWorkflow fails on them late, or silently ignores them)."""
    ids = {e.get("id") for e in tree.getroot().iter() if isinstance(e.tag, str) and e.get("id")}
    findings: list[Finding] = []
    for element in tree.getroot().iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        kind = local_name(element)
        refs = [(attr, element.get(attr)) for attr in _REFERENCES.get(kind, ())]
        if kind == "lane":
            refs += [("flowNodeRef", (r.text or "").strip()) for r in element.findall(f"{{{BPMN_NS}}}flowNodeRef")]
        for attr, ref in refs:
            if ref is not None and ref not in ids:
                element_id = element.get("id") or (element.getparent().get("id") if element.getparent() is not None
                                                    else None)
                findings.append(make(
                    file, "dangling-reference", element.sourceline,
                    f"{attr} {ref!r} of {kind} {element_id} names no element in this file",
                    f"{kind} {element_id} 的 {attr} {ref!r} 在本文件中找不到对应元素", element_id))
    return findings


def generated_ids(tree: etree._ElementTree, file: str) -> Iterator[Finding]:
    """Only ids people read: processes, lanes, flow nodes and flows (not event definitions or DI)."""
    for element in tree.getroot().iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS \
                or local_name(element) not in _READ_BY_PEOPLE:
            continue
        element_id = element.get("id")
        if element_id and _GENERATED.match(element_id):
            yield make(file, "generated-id", element.sourceline,
                       f"{local_name(element)} id {element_id!r} was generated by the modeler: give it a readable "
                       "id (e.g. review_fire, flow_approved); ids appear in history, errors and URLs",
                       f"{local_name(element)} 的 id {element_id!r} 是建模工具自动生成的：请改为可读的 id"
                       "（如 review_fire、flow_approved），id 会出现在历史记录、错误信息和网址中", element_id)


def schema_errors(tree: etree._ElementTree, file: str, *, skip_duplicate_ids: bool) -> list[Finding]:
    """Every XSD violation (up to a limit) with its line, not just Spiff's first one."""
    with _XSD_LOCK:
        VALIDATOR.preprocess(tree)  # Spiff's own fix-up for bpmn-js correlation expressions
        if VALIDATOR.validator.validate(tree):
            return []
        errors = [(e.line, e.message) for e in VALIDATOR.validator.error_log]
    findings = []
    for line, message in errors:
        if skip_duplicate_ids and "xs:ID" in message:
            continue  # reported as duplicate-id
        text = _short_names(message)
        findings.append(make(file, "bpmn-schema", line, f"not valid BPMN 2.0: {text}", f"不符合 BPMN 2.0 XSD：{text}"))
        if len(findings) == _MAX_SCHEMA_FINDINGS:
            break
    return findings


def _short_names(message: str) -> str:
    return (message.replace(f"{{{BPMN_NS}}}", "bpmn:").replace(f"{{{BPMNDI_NS}}}", "bpmndi:")
            .replace("{http://spiffworkflow.org/bpmn/schema/1.0/core}", "spiffworkflow:"))


@dataclass
class SpiffResult:
    parsed: ParsedProcess | None
    finding: Finding | None  # SpiffWorkflow's refusal, if any
    sandbox: bool  # the refusal was a sandbox violation (the expression rules report those precisely)


def spiff_parse(data: bytes, file: str) -> SpiffResult:
    try:
        return SpiffResult(load_process(data, file=file), None, False)
    except InvalidBpmn as exc:
        reason = _without_location(exc.detail, file, exc.line)
        finding = make(file, "bpmn-parse", exc.line, f"SpiffWorkflow cannot build the process: {reason}",
                       f"SpiffWorkflow 无法构建流程：{reason}", exc.element_id)
        return SpiffResult(None, finding, isinstance(exc.__cause__, SandboxViolation))


def _without_location(detail: str, file: str, line: int | None) -> str:
    """The engine's messages start with `file:line: `; a finding carries those separately."""
    for prefix in (f"{file}:{line}: ", f"{file}: "):
        if detail.startswith(prefix):
            return detail[len(prefix):]
    return detail
