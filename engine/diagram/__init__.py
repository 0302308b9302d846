"""Server-side BPMN diagrams: BPMN DI -> SVG with an instance's path highlighted (lxml only, no SpiffWorkflow).

- `model`: `parse_diagram(bytes) -> Diagram` (planes of shapes and edges, read as the modelers write them).
- `highlight`: `Highlight`, the value object saying what to mark.
- `svg`: `render_svg(diagram, highlight) -> bytes`.
"""

from engine.diagram.highlight import Highlight
from engine.diagram.model import Diagram, parse_diagram
from engine.diagram.svg import render_svg

__all__ = ["Diagram", "Highlight", "parse_diagram", "render_svg"]
