"""A deployment made through Camunda's `POST /engine-rest/deployment/create`: its name and source and the
definition versions it deployed (issue 12). The CLI and /api deploy files one by one and record no such row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class CamundaDeployment(Base):
    __tablename__ = "camunda_deployments"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(index=True)
    source: Mapped[str | None]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str]
    # process_definitions ids this deployment created, and resource (file) name -> definition id for every
    # resource it carried (an unchanged one under deploy-changed-only points at the existing version).
    definition_ids: Mapped[list[Any]]
    resources: Mapped[dict[str, Any]]
