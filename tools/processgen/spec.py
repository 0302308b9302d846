"""What the generator's process variants are made of: steps (a review of a catalog matter), gates, the variant."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.processgen.patterns import Review

CATALOG = Path(__file__).resolve().parents[2] / "processes" / "catalog.toml"
# The online application's fields (the start variables) and what `application.register` normalizes.
APPLICATION_VARIABLES = ("credit_code", "project_name", "project_code", "zone_id", "industry", "materials",
                         "channel", "consultation_requested", "commitment_requested", "cap_wd")


def load_matters(path: Path = CATALOG) -> dict[str, dict[str, Any]]:
    with path.open("rb") as fh:
        return {m["code"]: m for m in tomllib.load(fh)["matters"]}


@dataclass(frozen=True)
class Step:
    """A review in a variant: its key, the catalog matter and how the diagram names it."""

    key: str
    matter: str
    name: str
    form: str = "review_opinion"
    short: str | None = None
    result: str | None = None


@dataclass(frozen=True)
class Gate:
    step: Step
    zone_code: str | None = None  # the regional assessment that exempts a project in a covered zone


@dataclass
class Variant:
    key: str
    name: str
    kind: str
    cap_wd: int
    stage_caps: tuple[int, int, int]
    stage_leads: tuple[str, str, str]
    stage_names: tuple[str, str, str]
    stage_1_chain: list[Step]
    stage_1_permit: str
    stage_2_extra: list[Step]  # reviews beside the planning permit after the design review
    gates: list[Gate]
    matters: dict[str, dict[str, Any]] = field(default_factory=load_matters)

    def review(self, step: Step) -> Review:
        m = self.matters[step.matter]
        return Review(step.key, step.name, m["department"], step.matter, int(m["limit_committed_wd"]),
                      int(m["limit_statutory_wd"]), form=step.form,
                      silent_default=bool(m.get("silent_default", True)), short=step.short)
