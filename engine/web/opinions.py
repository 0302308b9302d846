"""Earlier departments' opinions for display: each submitted field with its form title and choice label."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.models import ProcessDefinition, ProcessInstance
from engine.services import projects


def opinion_rows(session: Session, instance_id: str, *, exclude_task: str | None = None) -> list[dict[str, Any]]:
    instance = session.get(ProcessInstance, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id) if instance else None
    forms = definition.forms if definition else {}
    rows = []
    for opinion in projects.opinions(session, instance_id, exclude_task=exclude_task):
        props = (forms.get(opinion.form_key or "") or {}).get("properties", {})
        shown = []
        for name, value in opinion.data.items():
            prop = props.get(name, {})
            shown.append((prop.get("title") or name, (prop.get("x-labels") or {}).get(str(value), value)))
        rows.append({"opinion": opinion, "fields": shown})
    return rows
