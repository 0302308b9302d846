"""Which task-data names an expression may read at a given element (for `unknown-variable`).

Names come from: declared process variables (process property `variables="a, b"`), data objects, start-form
fields, the fields of earlier user-task forms (a task's `resultVariable` property nests its form under that one
name instead, as engine/services/human_tasks.py stores it), service tasks' result variables (operator
`resultVariable`, property `resultVariable` or Camunda output parameters), names assigned by earlier scripts,
multi-instance items and the variables of caught messages, errors, signals and escalations.

"Earlier" is a may-analysis over sequence flows: a name is known at an element if some path from the start
produces it before. A boundary event does not see its own activity's outputs (the activity did not complete);
an event subprocess may fire at any time, so it sees everything its parent scope produces.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from lxml import etree

from engine.bpmn.lint.forms import FormCatalog, form_ref
from engine.bpmn.lint.model import CAMUNDA_NS, HUMAN_TASKS, SPIFF_NS, Document, Node, Scope, bpmn, local_name


def declared(text: str) -> list[str]:
    return [name.strip() for name in text.replace("\n", ",").split(",") if name.strip()]


def assigned(text: str | None) -> set[str]:
    """Names a script assigns (any branch)."""
    if not text:
        return set()
    try:
        tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. nested too deep for the parser
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def extension_text(element: etree._Element, name: str) -> str | None:
    extensions = element.find(bpmn("extensionElements"))
    found = extensions.find(f"{{{SPIFF_NS}}}{name}") if extensions is not None else None
    return found.text if found is not None else None


class Availability:
    def __init__(self, doc: Document, forms: FormCatalog) -> None:
        self.doc = doc
        self.forms = forms
        self.produced: dict[Node, set[str]] = {}
        self.globals: set[str] = {e.get("id", "") for e in doc.find("dataObject")}
        for props in doc.process_properties.values():
            if "variables" in props:
                self.globals.update(declared(props["variables"].value))
        for node in doc.all_nodes():
            self.produced[node] = self._own(node)
        for scope in reversed(doc.scopes):  # inner scopes first: a subprocess produces what its body produces
            if scope.owner is not None:
                for node in scope.nodes:
                    self.produced[scope.owner] |= self.produced[node]
        self._before: dict[Node, set[str]] = {}
        for scope in doc.scopes:  # parents before children (build order)
            self._flow(scope)

    def before(self, node: Node) -> set[str]:
        """Names available when the element starts."""
        return self._before.get(node, self.globals)

    def after(self, node: Node) -> set[str]:
        """Names available when the element has completed (its outgoing conditions and postScript)."""
        return self.before(node) | self.produced.get(node, set())

    def _own(self, node: Node) -> set[str]:
        names: set[str] = set()
        element = node.element
        result_variable = node.properties.get("resultVariable")
        if node.kind in HUMAN_TASKS or node.kind == "startEvent":
            ref = form_ref(node)
            if result_variable is not None and result_variable.value.strip():
                names.add(result_variable.value.strip())
            elif ref is not None and ref.file_based:
                loaded = self.forms.load(ref.name)
                names |= loaded.fields if loaded is not None else set()
        if node.kind == "serviceTask":
            extensions = element.find(bpmn("extensionElements"))
            operator = extensions.find(f"{{{SPIFF_NS}}}serviceTaskOperator") if extensions is not None else None
            if operator is not None and operator.get("resultVariable"):
                names.add(operator.get("resultVariable", ""))
            if result_variable is not None and result_variable.value.strip():
                names.add(result_variable.value.strip())
            names.update(p.get("name", "") for p in element.iter(f"{{{CAMUNDA_NS}}}outputParameter"))
        if node.kind == "scriptTask":
            script = element.find(bpmn("script"))
            names |= assigned(script.text if script is not None else None)
        names |= assigned(extension_text(element, "preScript")) | assigned(extension_text(element, "postScript"))
        for loop in element.findall(bpmn("multiInstanceLoopCharacteristics")):
            for item in ("inputDataItem", "outputDataItem"):
                found = loop.find(bpmn(item))
                if found is not None:
                    names.add(found.get("id") or found.get("name") or "")
            output = loop.find(bpmn("loopDataOutputRef"))
            if output is not None and output.text:
                names.add(output.text.strip())
        names |= self._event_variables(node)
        names.discard("")
        return names

    def _event_variables(self, node: Node) -> set[str]:
        if node.kind not in ("startEvent", "intermediateCatchEvent", "boundaryEvent"):
            return set()
        names: set[str] = set()
        refs = {"errorEventDefinition": ("errorRef", "error"), "signalEventDefinition": ("signalRef", "signal"),
                "escalationEventDefinition": ("escalationRef", "escalation")}
        for definition in node.definitions():
            kind = local_name(definition)
            if kind == "messageEventDefinition":
                variable = definition.find(f"{{{SPIFF_NS}}}messageVariable")
                if variable is not None and variable.text:
                    names.add(variable.text.strip())
            elif kind in refs:
                attr, tag = refs[kind]
                ref = definition.get(attr)
                for target in self.doc.find(tag):
                    if target.get("id") == ref:
                        names.add((extension_text(target, "variableName") or "").strip())
        return names

    def _flow(self, scope: Scope) -> None:
        base = set(self.globals)
        if scope.owner is not None:
            base |= self.before(scope.owner)
            if scope.is_event_subprocess and scope.parent is not None:
                base |= set().union(*(self.produced[n] for n in scope.parent.nodes))
        for node in scope.nodes:
            self._before[node] = set(base)
        work = list(scope.nodes)
        while work:
            node = work.pop()
            out = self.after(node)
            for succ in self.doc.successors(node):
                incoming = self.before(node) if succ.attached_to is node else out
                current = self._before.setdefault(succ, set(base))
                if not incoming <= current:
                    current |= incoming
                    work.append(succ)


def unknown(names: Iterable[str], known: set[str]) -> list[str]:
    return sorted(set(names) - known)
