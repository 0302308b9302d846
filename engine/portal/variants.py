"""Which process an application runs and what it must bring (分类简化: variants per project class).

The kind of investment picks the variant (enterprise filing with land sold → commercial_project; government
investment with land allocated → government_investment_project); the catalog in force says which matters apply
and which materials each needs, less what a valid regional assessment of the project's zone already covers.
A project below the construction-permit threshold needs no permit at all and is told so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.bureau.catalog import Catalog
from engine.errors import FieldError, FormInvalid

KINDS: dict[str, tuple[str, str]] = {
    "commercial": ("commercial_project", "企业投资项目（备案类，出让用地）"),
    "government": ("government_investment_project", "政府投资项目（审批类，划拨用地）"),
}
DISTRICTS = ("新城区", "回民区", "玉泉区", "赛罕区", "土默特左旗", "托克托县", "和林格尔县", "清水河县", "武川县",
             "和林格尔新区", "呼和浩特经济技术开发区")
# 建筑工程施工许可管理办法 art 2: below 30万元 or 300 m², no construction permit is needed.
PERMIT_THRESHOLD_WAN = 30
PERMIT_THRESHOLD_M2 = 300

APPLICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "project_name": {"type": "string", "title": "项目名称", "minLength": 2, "maxLength": 100},
        "kind": {"type": "string", "title": "项目类型", "enum": list(KINDS)},
        "district": {"type": "string", "title": "建设地点（区县）", "enum": list(DISTRICTS)},
        "address": {"type": "string", "title": "详细地址", "minLength": 5, "maxLength": 200},
        "zone_id": {"type": "string", "title": "区域评估片区", "maxLength": 64},
        "industry": {"type": "string", "title": "行业", "maxLength": 64},
        "building_area_m2": {"type": "integer", "title": "总建筑面积（平方米）", "minimum": 1, "maximum": 10_000_000},
        "investment_wan": {"type": "integer", "title": "总投资（万元）", "minimum": 1, "maximum": 100_000_000},
    },
    "required": ["project_name", "kind", "district", "address", "building_area_m2", "investment_wan"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class MaterialNeed:
    code: str
    name: str
    kind: str  # primary | secondary
    rongque: bool  # may be missing at acceptance under a 容缺 commitment


@dataclass(frozen=True)
class MatterNeed:
    code: str
    name: str
    department: str
    stage: int
    limit_committed_wd: int
    commitment: bool  # 告知承诺 allowed
    skipped_by_zone: bool
    materials: tuple[MaterialNeed, ...]


@dataclass(frozen=True)
class Requirements:
    process_key: str
    kind_label: str
    catalog_version: str
    catalog_sample: bool
    zone_name: str
    zone_reason: str
    matters: tuple[MatterNeed, ...]

    @property
    def materials(self) -> list[MaterialNeed]:
        return [m for matter in self.matters if not matter.skipped_by_zone for m in matter.materials]

    def material(self, code: str) -> MaterialNeed | None:
        return next((m for m in self.materials if m.code == code), None)

    @property
    def commitment_matters(self) -> list[MatterNeed]:
        return [m for m in self.matters if m.commitment and not m.skipped_by_zone]


def check_project(data: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The cleaned project fields, or FormInvalid with Chinese messages (nothing is stored)."""
    from engine.services.forms import validate_form

    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in data.items() if v not in ("", None)}
    validate_form(APPLICATION_SCHEMA, cleaned)
    zone = cleaned.get("zone_id")
    if zone and zone not in catalog.zones:
        raise FormInvalid([FieldError("zone_id", "区域评估片区：不在事项清单的片区列表中")])
    if cleaned["investment_wan"] < PERMIT_THRESHOLD_WAN or cleaned["building_area_m2"] < PERMIT_THRESHOLD_M2:
        raise FormInvalid([FieldError("investment_wan",
                                      f"工程投资额{PERMIT_THRESHOLD_WAN}万元以下或建筑面积{PERMIT_THRESHOLD_M2}平方米以下的建筑工程"
                                      "可以不申请办理施工许可证（《建筑工程施工许可管理办法》第二条），无需在此申报")])
    return cleaned


def process_for(kind: str) -> str:
    return KINDS[kind][0]


def requirements(catalog: Catalog, kind: str, zone_id: str | None, industry: str | None, day: date) -> Requirements:
    process_key, label = KINDS[kind]
    coverage = catalog.zone_coverage(zone_id, industry, day)
    covered = set(coverage.get("covers") or [])
    matters = tuple(
        MatterNeed(m.code, m.name, m.department, m.stage, m.limit_committed_wd, m.commitment,
                   bool(m.zone_skip and m.zone_skip in covered),
                   tuple(MaterialNeed(x.code, x.name, x.kind, m.rongque and x.kind == "secondary") for x in m.materials))
        for m in sorted(catalog.matters_for(process_key), key=lambda m: (m.stage, m.code != "CK-01")))
    return Requirements(process_key, label, catalog.version, catalog.sample, str(coverage.get("name") or ""),
                        str(coverage.get("reason") or ""), matters)
