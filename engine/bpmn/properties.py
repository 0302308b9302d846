"""Designer properties on a BPMN element: `spiffworkflow:properties` or Camunda Modeler's `camunda:properties`.

Spiff reads only its own namespace; Camunda Modeler files carry the same name/value pairs in `camunda:properties`.
Both are read here; on a clash the spiffworkflow value wins.
"""

from __future__ import annotations

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_CONTAINERS = {f"{{{BPMN_NS}}}{tag}" for tag in ("process", "subProcess", "transaction")}


def element_properties(node: etree._Element) -> dict[str, str]:
    """name -> value of the element's own extension properties (not its children's)."""
    result: dict[str, str] = {}
    extensions = node.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is None:
        return result
    for ns in (CAMUNDA_NS, SPIFF_NS):  # spiffworkflow last: it wins
        for props in extensions.findall(f"{{{ns}}}properties"):
            for prop in props.findall(f"{{{ns}}}property"):
                name = prop.get("name")
                if name:
                    result[name] = prop.get("value", "")
    return result


def inherited_property(node: etree._Element, name: str) -> str | None:
    """`name` from the nearest enclosing subprocess or process that sets it (a process-wide default)."""
    for ancestor in node.iterancestors():
        if ancestor.tag in _CONTAINERS:
            value = element_properties(ancestor).get(name)
            if value:
                return value
    return None
