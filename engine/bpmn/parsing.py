"""BPMN bytes -> a parsed, validated process (`ParsedProcess`), or `InvalidBpmn` naming file, line, element."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bpmn import juel, script_env
from engine.bpmn.external_tasks import EXTERNAL_TASK_PARSER_CLASSES, ExternalServiceTask
from engine.bpmn.properties import element_properties
from engine.bpmn.timers import TIMER_PARSER_CLASSES
from engine.bpmn.xml import line_of, parse_xml
from engine.errors import InvalidBpmn, SandboxViolation

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
HUMAN_TYPES = {"UserTask", "ManualTask"}


class EngineBpmnParser(SpiffBpmnParser):
    """Our parser: Spiff's, extended in one place (custom task specs register here)."""

    # Timers on the engine's clock and calendar (engine/bpmn/timers.py).
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES, **TIMER_PARSER_CLASSES}


# Service tasks as external jobs for workers (engine/bpmn/external_tasks.py); a new dict, never Spiff's own.
EngineBpmnParser.OVERRIDE_PARSER_CLASSES = {**EngineBpmnParser.OVERRIDE_PARSER_CLASSES,
                                           **EXTERNAL_TASK_PARSER_CLASSES}


@dataclass(frozen=True)
class ElementInfo:
    bpmn_id: str
    type: str
    name: str | None
    lane: str | None = None
    candidate_groups: tuple[str, ...] = ()
    form: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    topic: str | None = None  # service tasks: the workers' topic
    assignee: str | None = None  # user tasks: camunda:assignee (a literal username; expressions are refused)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "lane": self.lane,
            "candidate_groups": list(self.candidate_groups),
            "form": self.form,
            "properties": dict(self.properties),
            "topic": self.topic,
            "assignee": self.assignee,
        }


@dataclass
class ParsedProcess:
    key: str
    name: str | None
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    elements: dict[str, ElementInfo]

    def forms(self) -> set[str]:
        return {e.form for e in self.elements.values() if e.form}


def _invalid(exc: ValidationException | SpiffWorkflowException, tree: etree._ElementTree, file: str) -> InvalidBpmn:
    element_id = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or line_of(tree, element_id)
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    where = f"{file}:{line}" if line else file
    suffix = f" (element {element_id})" if element_id else ""
    return InvalidBpmn(f"{where}: {message}{suffix}", file=file, line=line or None, element_id=element_id)


def _pick_process(tree: etree._ElementTree, file: str) -> etree._Element:
    processes = tree.getroot().findall(f"{{{BPMN_NS}}}process")
    if not processes:
        raise InvalidBpmn(f"{file}: no bpmn:process element", file=file)
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"]
    return (executable or processes)[0]


def _lanes(process: etree._Element) -> dict[str, tuple[str, str | None]]:
    """element id -> (lane id, lane name) for every flow node placed in a lane."""
    result: dict[str, tuple[str, str | None]] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                result[ref.text.strip()] = (lane.get("id", ""), lane.get("name"))
    return result


def _camunda(node: etree._Element | None, attr: str) -> str | None:
    return None if node is None else node.get(f"{{{CAMUNDA_NS}}}{attr}")


def _form_of(properties: dict[str, str], node: etree._Element | None) -> str | None:
    if properties.get("formJsonSchemaFilename"):
        return properties["formJsonSchemaFilename"]
    form_key = _camunda(node, "formKey")
    if form_key and "/" not in form_key and ":" not in form_key:
        return f"{form_key}.schema.json"
    return form_key or None


def _assignee(node: etree._Element | None) -> str | None:
    return (_camunda(node, "assignee") or "").strip() or None


def _elements(spec: BpmnProcessSpec,
              subprocess_specs: dict[str, BpmnProcessSpec], tree: etree._ElementTree) -> dict[str, ElementInfo]:
    nodes = {n.get("id"): n for n in tree.getroot().iter() if isinstance(n.tag, str) and n.get("id")}
    lanes: dict[str, tuple[str, str | None]] = {}
    for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
        lanes.update(_lanes(process))
    elements: dict[str, ElementInfo] = {}
    for process_spec in [spec, *subprocess_specs.values()]:
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id or bpmn_id in elements:
                continue
            node = nodes.get(bpmn_id)
            extensions = getattr(task_spec, "extensions", {}) or {}
            properties = dict(extensions.get("properties", {}) or {})
            if node is not None:  # camunda:properties too (Camunda Modeler files); spiffworkflow wins
                properties = {**element_properties(node), **properties}
            lane_id, _lane_name = lanes.get(bpmn_id, (None, None))
            groups_text = _camunda(node, "candidateGroups") or properties.get("candidateGroups")
            groups = tuple(g.strip() for g in groups_text.split(",") if g.strip()) if groups_text else ()
            if not groups and lane_id:
                groups = (lane_id,)
            type_name = task_spec.__class__.__name__
            elements[bpmn_id] = ElementInfo(
                bpmn_id=bpmn_id,
                type=type_name,
                name=getattr(task_spec, "bpmn_name", None),
                lane=lane_id,
                candidate_groups=groups,
                form=_form_of(properties, node) if type_name in HUMAN_TYPES else None,
                properties=properties,
                topic=task_spec.topic if isinstance(task_spec, ExternalServiceTask) else None,
                assignee=_assignee(node) if type_name in HUMAN_TYPES else None,
            )
    return elements


def _check_expressions(specs: list[BpmnProcessSpec], tree: etree._ElementTree, file: str) -> None:
    """Spiff evaluates expressions only at run time; compile every one now so deploy refuses bad ones."""

    def refuse(exc: SandboxViolation, bpmn_id: str | None, what: str) -> InvalidBpmn:
        line = line_of(tree, bpmn_id)
        where = f"{file}:{line}" if line else file
        return InvalidBpmn(f"{where}: {what} of {bpmn_id}: {exc.detail}", file=file, line=line, element_id=bpmn_id)

    for process_spec in specs:
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            for condition, target in getattr(task_spec, "cond_task_specs", []) or []:
                text = condition.args[0] if condition is not None and getattr(condition, "args", None) else None
                if text is None:
                    continue
                flow_id = getattr(process_spec.task_specs.get(target), "bpmn_id", None) or bpmn_id
                try:
                    script_env.compile_expression(text)
                except SandboxViolation as exc:
                    raise refuse(exc, _flow_id(tree, bpmn_id, flow_id), "condition") from exc
            scripts = []
            if isinstance(task_spec, ScriptEngineTask):
                scripts.append(("script", getattr(task_spec, "script", None)))
            scripts.append(("prescript", getattr(task_spec, "prescript", None)))
            scripts.append(("postscript", getattr(task_spec, "postscript", None)))
            for what, text in scripts:
                if not text:
                    continue
                try:
                    script_env.compile_script(text)
                except SandboxViolation as exc:
                    raise refuse(exc, bpmn_id, what) from exc


def _flow_id(tree: etree._ElementTree, source_id: str | None, target_id: str | None) -> str | None:
    """The sequence flow from a gateway to a target, so errors point at the condition's own line."""
    for flow in tree.getroot().iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("sourceRef") == source_id and flow.get("targetRef") == target_id:
            return flow.get("id")
    return source_id


def load_process(data: bytes, *, file: str = "<bpmn>") -> ParsedProcess:
    """Parse, XSD-validate and check one BPMN document. Raises `InvalidBpmn`."""
    tree = parse_xml(data, file=file)
    _check_structure(tree, file)
    _translate_juel(tree, file)
    parser = EngineBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename=file)
        process = _pick_process(tree, file)
        process_id = process.get("id")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise _invalid(exc, tree, file) from exc
    except SpiffWorkflowException as exc:
        raise _invalid(exc, tree, file) from exc
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        # Spiff raises bare exceptions for some structural faults (e.g. a flow to a missing element).
        raise InvalidBpmn(f"{file}: cannot build the process: {exc!r}", file=file) from exc
    _check_expressions([spec, *subprocess_specs.values()], tree, file)
    return ParsedProcess(
        key=process_id,
        name=process.get("name"),
        spec=spec,
        subprocess_specs=subprocess_specs,
        elements=_elements(spec, subprocess_specs, tree),
    )


def _check_structure(tree: etree._ElementTree, file: str) -> None:
    """Faults Spiff accepts silently but that would strand a running instance."""
    root = tree.getroot()
    ids = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if not ref or ref not in ids:
                raise InvalidBpmn(
                    f"{file}:{flow.sourceline}: sequence flow {flow.get('id')} has a dangling {end} {ref!r}",
                    file=file,
                    line=flow.sourceline,
                    element_id=flow.get("id"),
                    tag="bpmn:sequenceFlow",
                )


def _translate_juel(tree: etree._ElementTree, file: str) -> None:
    """Camunda Modeler's JUEL conditions (`${approved}`) become sandbox Python before Spiff reads them
    (engine/bpmn/juel.py); a text outside the subset refuses the file, naming its line."""
    try:
        juel.translate_tree(tree.getroot())
    except juel.JuelSiteError as exc:
        line = exc.element.sourceline
        raise InvalidBpmn(f"{file}:{line}: JUEL expression of {exc.owner_id} is not supported: {exc}",
                          file=file, line=line, element_id=exc.owner_id) from exc
