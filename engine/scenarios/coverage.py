"""Coverage per process over the scenarios that ran it: which sequence flows and elements some scenario exercised.

An element counts when an instance completed it or ended waiting on it; a flow when a token went along it
(engine/bpmn/coverage.py). Reported as text (with what is missing) and as the process diagram with the covered
elements and flows highlighted (engine/diagram/).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bpmn.structure import Structure
from engine.diagram import Highlight, parse_diagram, render_svg
from engine.scenarios.runner import RunError, ScenarioResult, Workbench


@dataclass
class ProcessCoverage:
    key: str
    file: Path
    structure: Structure
    elements: set[str] = field(default_factory=set)
    flows: set[str] = field(default_factory=set)
    scenarios: list[str] = field(default_factory=list)

    @property
    def all_elements(self) -> set[str]:
        return set(self.structure.nodes)

    @property
    def all_flows(self) -> set[str]:
        return set(self.structure.flows)

    @property
    def missing_flows(self) -> list[str]:
        return sorted(self.all_flows - self.flows)

    @property
    def missing_elements(self) -> list[str]:
        return sorted(self.all_elements - self.elements)

    @staticmethod
    def _percent(part: int, whole: int) -> float:
        return 100.0 if whole == 0 else 100.0 * part / whole

    @property
    def flow_percent(self) -> float:
        return self._percent(len(self.flows & self.all_flows), len(self.all_flows))

    @property
    def element_percent(self) -> float:
        return self._percent(len(self.elements & self.all_elements), len(self.all_elements))

    def summary(self) -> str:
        flows, elements = len(self.flows & self.all_flows), len(self.elements & self.all_elements)
        return (f"{self.key}: flows {flows}/{len(self.all_flows)} ({self.flow_percent:.1f}%), "
                f"elements {elements}/{len(self.all_elements)} ({self.element_percent:.1f}%), "
                f"{len(self.scenarios)} scenario(s)")

    def text(self) -> str:
        lines = [self.summary()]
        for flow_id in self.missing_flows:
            flow = self.structure.flows[flow_id]
            label = f" \"{flow.name}\"" if flow.name else ""
            lines.append(f"  flow not taken: {flow_id}{label} ({flow.source} -> {flow.target})")
        for element_id in self.missing_elements:
            node = self.structure.nodes[element_id]
            name = f" {node.name}" if node.name else ""
            lines.append(f"  element not exercised: {element_id} ({node.type}{name})")
        return "\n".join(lines)

    def svg(self) -> bytes:
        diagram = parse_diagram(self.file.read_bytes(), file=self.file.name)
        title = (f"{self.key} 场景覆盖率：顺序流 {self.flow_percent:.1f}%，元素 {self.element_percent:.1f}%"
                 f"（{len(self.scenarios)} 个场景）")
        return render_svg(diagram, Highlight.of(completed=self.elements, taken_flows=self.flows), title=title)

    def to_json(self) -> dict[str, Any]:
        return {"process": self.key, "file": str(self.file), "scenarios": self.scenarios,
                "flows": {"covered": len(self.flows & self.all_flows), "total": len(self.all_flows),
                          "percent": round(self.flow_percent, 1), "missing": self.missing_flows},
                "elements": {"covered": len(self.elements & self.all_elements), "total": len(self.all_elements),
                             "percent": round(self.element_percent, 1), "missing": self.missing_elements}}


def coverage_of(results: Iterable[ScenarioResult], bench: Workbench) -> list[ProcessCoverage]:
    """One entry per process the scenarios ran (failed scenarios count for what they did)."""
    by_file: dict[Path, ProcessCoverage] = {}
    for result in results:
        scenario = result.scenario
        try:
            path = scenario.bpmn or bench.path(scenario.process)
        except RunError:  # an unknown process: the scenario's own result says so
            continue
        entry = by_file.get(path)
        if entry is None:
            entry = by_file[path] = ProcessCoverage(scenario.process, path, bench.structure(path))
        entry.scenarios.append(scenario.name)
        if result.outcome is not None:
            entry.elements |= result.outcome.reached
            entry.flows |= result.outcome.flows
    return sorted(by_file.values(), key=lambda c: c.key)
