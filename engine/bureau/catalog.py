"""The matter catalog (事项清单): matters with department, limits, materials, 容缺 / 告知承诺 flags; the listed
preconditions; the regional-assessment zones. `approvals catalog load FILE` checks a TOML file strictly (every
bad key is named) and stores it as a new version; the newest version is in force, else processes/catalog.toml.
"""

from __future__ import annotations

import hashlib
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bureau.errors import InvalidCatalog
from engine.models import CatalogVersion

CATALOG_FILE = "catalog.toml"
MATTER_KEYS = ("code", "name", "department", "stage", "processes", "limit_committed_wd", "limit_statutory_wd",
               "silent_default", "rongque", "commitment", "commitment_limit_committed_wd", "zone_skip", "materials")
MATERIAL_KINDS = ("primary", "secondary")


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    department: str
    stage: int
    processes: tuple[str, ...]
    limit_committed_wd: int
    limit_statutory_wd: int
    silent_default: bool
    rongque: bool
    commitment: bool
    commitment_limit_committed_wd: int | None
    zone_skip: str | None
    materials: tuple[Material, ...]


@dataclass(frozen=True)
class Precondition:
    matter: str
    requires: str
    basis: str


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    covers: tuple[str, ...]
    valid_from: date
    valid_until: date
    negative_list: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    title: str
    version: str
    sample: bool
    note: str
    matters: dict[str, Matter]
    preconditions: tuple[Precondition, ...]
    zones: dict[str, Zone]

    # --- what the workers ask ----------------------------------------------------------------------------------

    def matters_for(self, process: str) -> list[Matter]:
        return [m for m in self.matters.values() if process in m.processes]

    def check_materials(self, process: str, submitted: Iterable[str], covered: Iterable[str] = ()) -> dict[str, Any]:
        """Compare the submitted material codes with the process's matters (less those a regional assessment
        `covered`): what is missing, and whether the window may accept anyway (容缺: only secondary materials
        missing, each of a matter that allows it)."""
        given = {str(code).strip() for code in submitted}
        skipped = set(covered)
        matters = [m for m in self.matters_for(process) if not (m.zone_skip and m.zone_skip in skipped)]
        owners = {mat.code: m for m in matters for mat in m.materials}
        primary = [mat.code for m in matters for mat in m.materials if mat.kind == "primary"]
        secondary = [mat.code for m in matters for mat in m.materials if mat.kind == "secondary"]
        missing_primary = [c for c in primary if c not in given]
        missing_secondary = [c for c in secondary if c not in given]
        known = set(primary) | set(secondary)
        rongque = (not missing_primary and bool(missing_secondary)
                   and all(owners[c].rongque for c in missing_secondary))
        return {
            "process": process,
            "catalog_version": self.version,
            "matters": [m.code for m in matters],
            "missing_primary": missing_primary,
            "missing_secondary": missing_secondary,
            "unknown": sorted(given - known),
            "complete": not missing_primary and not missing_secondary,
            "rongque_eligible": rongque,
            "commitment_eligible": any(m.commitment for m in matters),
        }

    def zone_coverage(self, zone_id: str | None, industry: str | None, day: date) -> dict[str, Any]:
        """Which assessments a project in this zone may skip today (none outside a zone, after the assessments
        expired, or for an industry on the zone's negative list)."""
        if not zone_id:
            return {"zone_id": "", "name": "", "covers": [], "reason": "not in a regional-assessment zone"}
        zone = self.zones.get(zone_id)
        if zone is None:
            return {"zone_id": zone_id, "name": "", "covers": [], "reason": "unknown zone"}
        result = {"zone_id": zone.id, "name": zone.name, "valid_until": zone.valid_until.isoformat()}
        if not zone.valid_from <= day <= zone.valid_until:
            return {**result, "covers": [], "reason": "the zone's assessments are not valid on this date"}
        if industry and any(item in industry for item in zone.negative_list):
            return {**result, "covers": [], "reason": f"industry {industry} is on the zone's negative list"}
        return {**result, "covers": list(zone.covers), "reason": "covered"}

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title, "version": self.version, "sample": self.sample, "note": self.note,
            "matters": [asdict(m) for m in self.matters.values()],
            "preconditions": [asdict(p) for p in self.preconditions],
            "zones": [{**asdict(z), "valid_from": z.valid_from.isoformat(), "valid_until": z.valid_until.isoformat()}
                      for z in self.zones.values()],
        }


# --- parsing -----------------------------------------------------------------------------------------------------


class _Reader:
    """Reads one table, naming `where.key` in every error; keys outside `keys` are refused first."""

    def __init__(self, source: str, where: str, table: Any, keys: Iterable[str]) -> None:
        if not isinstance(table, dict):
            raise InvalidCatalog(f"{source}: {where} must be a table")
        self.source, self.where, self.table = source, where, table
        unknown = sorted(set(table) - set(keys))
        if unknown:  # a typo reads better as "unknown key" than as the "is required" it also causes
            raise self.fail(unknown[0], "unknown key")

    def fail(self, key: str, message: str) -> InvalidCatalog:
        return InvalidCatalog(f"{self.source}: {self.where}.{key}: {message}", key=f"{self.where}.{key}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, empty: bool = False) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if isinstance(value, bool) and kind is int or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be {names}, not {type(value).__name__}")
        if isinstance(value, str) and not empty and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        values = self.get(key, list, default)
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(key, "must be a list of non-empty strings")
        return tuple(values)

    def days(self, key: str, default: Any = ...) -> int | None:
        value = self.get(key, int, default)
        if value is not None and value < 1:
            raise self.fail(key, "must be a whole number of working days >= 1")
        return value


def _matter(source: str, index: int, table: Any, departments: Mapping[str, str] | None) -> Matter:
    r = _Reader(source, f"matters[{index}]", table, MATTER_KEYS)
    code, name, department = r.get("code", str), r.get("name", str), r.get("department", str)
    if departments is not None and department not in departments:
        raise r.fail("department", f"{department!r} is not in processes/departments.toml")
    stage = r.get("stage", int)
    if stage not in (1, 2, 3, 4):
        raise r.fail("stage", "must be 1, 2, 3 or 4")
    committed, statutory = r.days("limit_committed_wd"), r.days("limit_statutory_wd")
    assert committed is not None and statutory is not None
    if committed > statutory:
        raise r.fail("limit_committed_wd", f"{committed} exceeds the statutory limit {statutory}")
    commitment = r.get("commitment", bool)
    commitment_limit = r.days("commitment_limit_committed_wd", None)
    if commitment and commitment_limit is None:
        raise r.fail("commitment_limit_committed_wd", "is required when commitment = true")
    if not commitment and commitment_limit is not None:
        raise r.fail("commitment_limit_committed_wd", "applies only when commitment = true")
    materials = []
    for i, item in enumerate(r.get("materials", list)):
        m = _Reader(source, f"matters[{index}].materials[{i}]", item, ("code", "name", "kind"))
        kind = m.get("kind", str)
        if kind not in MATERIAL_KINDS:
            raise m.fail("kind", f"must be one of {', '.join(MATERIAL_KINDS)}")
        materials.append(Material(m.get("code", str), m.get("name", str), kind))
    matter = Matter(code, name, department, stage, r.strings("processes"), committed, statutory,
                    r.get("silent_default", bool, True), r.get("rongque", bool), commitment, commitment_limit,
                    r.get("zone_skip", str, None), tuple(materials))
    return matter


def _zone(source: str, index: int, table: Any) -> Zone:
    r = _Reader(source, f"zones[{index}]", table,
                ("id", "name", "covers", "valid_from", "valid_until", "negative_list"))
    valid_from, valid_until = r.get("valid_from", date), r.get("valid_until", date)
    if isinstance(valid_from, datetime) or isinstance(valid_until, datetime):
        raise r.fail("valid_from", "dates are plain dates (2026-01-01), not date-times")
    if valid_from > valid_until:
        raise r.fail("valid_until", "is before valid_from")
    zone = Zone(r.get("id", str), r.get("name", str), r.strings("covers"), valid_from, valid_until,
                r.strings("negative_list", ()))
    return zone


def parse_catalog(data: bytes, *, source: str = CATALOG_FILE,
                  departments: Mapping[str, str] | None = None) -> Catalog:
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidCatalog(f"{source}: not a valid UTF-8 TOML file: {exc}") from exc
    top = _Reader(source, "catalog file", document, ("catalog", "matters", "preconditions", "zones"))
    header = _Reader(source, "catalog", top.get("catalog", dict), ("title", "version", "sample", "note"))
    matters: dict[str, Matter] = {}
    materials: set[str] = set()
    for i, table in enumerate(top.get("matters", list)):
        matter = _matter(source, i, table, departments)
        if matter.code in matters:
            raise InvalidCatalog(f"{source}: matters[{i}].code: duplicate matter {matter.code}")
        for material in matter.materials:
            if material.code in materials:
                raise InvalidCatalog(f"{source}: matters[{i}].materials: duplicate material {material.code}")
            materials.add(material.code)
        matters[matter.code] = matter
    preconditions = []
    for i, table in enumerate(top.get("preconditions", list, [])):
        r = _Reader(source, f"preconditions[{i}]", table, ("matter", "requires", "basis"))
        p = Precondition(r.get("matter", str), r.get("requires", str), r.get("basis", str))
        for key in ("matter", "requires"):
            if getattr(p, key) not in matters:
                raise r.fail(key, f"unknown matter {getattr(p, key)}")
        if p.matter == p.requires:
            raise r.fail("requires", "a matter cannot be its own precondition")
        preconditions.append(p)
    _refuse_cycles(source, preconditions)
    zones: dict[str, Zone] = {}
    for i, table in enumerate(top.get("zones", list, [])):
        zone = _zone(source, i, table)
        if zone.id in zones:
            raise InvalidCatalog(f"{source}: zones[{i}].id: duplicate zone {zone.id}")
        zones[zone.id] = zone
    catalog = Catalog(header.get("title", str), header.get("version", str), header.get("sample", bool),
                      header.get("note", str, "", empty=True), matters, tuple(preconditions), zones)
    return catalog


def _refuse_cycles(source: str, preconditions: list[Precondition]) -> None:
    needs: dict[str, set[str]] = {}
    for p in preconditions:
        needs.setdefault(p.matter, set()).add(p.requires)

    def visit(code: str, trail: tuple[str, ...]) -> None:
        if code in trail:
            raise InvalidCatalog(f"{source}: preconditions: cycle {' -> '.join((*trail, code))}")
        for required in needs.get(code, ()):
            visit(required, (*trail, code))

    for code in needs:
        visit(code, ())


def catalog_from_json(content: dict[str, Any]) -> Catalog:
    matters = {}
    for m in content["matters"]:
        fields = {**m, "processes": tuple(m["processes"]),
                  "materials": tuple(Material(**x) for x in m["materials"])}
        matters[m["code"]] = Matter(**fields)
    zones = {z["id"]: Zone(z["id"], z["name"], tuple(z["covers"]), date.fromisoformat(z["valid_from"]),
                           date.fromisoformat(z["valid_until"]), tuple(z["negative_list"])) for z in content["zones"]}
    return Catalog(content["title"], content["version"], content["sample"], content["note"], matters,
                   tuple(Precondition(**p) for p in content["preconditions"]), zones)


# --- storing -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadOut:
    id: int
    version: str
    title: str
    sample: bool
    matters: int
    preconditions: int
    zones: int
    unchanged: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_catalog(session: Session, data: bytes, *, source: str, departments: Mapping[str, str] | None, actor: str,
                 now: datetime) -> LoadOut:
    """Check and store a catalog file as the version in force; the same bytes again keep the current row."""
    catalog = parse_catalog(data, source=source, departments=departments)
    digest = hashlib.sha256(data).hexdigest()
    latest = session.scalars(select(CatalogVersion).order_by(CatalogVersion.id.desc()).limit(1)).first()
    unchanged = latest is not None and latest.sha256 == digest
    row = latest
    if not unchanged:
        row = CatalogVersion(version=catalog.version, title=catalog.title, sample=catalog.sample, sha256=digest,
                             source=source, content=catalog.to_json(), loaded_at=now, loaded_by=actor)
        session.add(row)
        session.flush()
    assert row is not None
    return LoadOut(row.id, catalog.version, catalog.title, catalog.sample, len(catalog.matters),
                   len(catalog.preconditions), len(catalog.zones), unchanged)


# The newest version's id and digest: enough to tell whether the cached catalog is still the one in force.
_LATEST = select(CatalogVersion.id, CatalogVersion.sha256).order_by(CatalogVersion.id.desc()).limit(1)


def current_catalog(session: Session, processes_dir: Path) -> Catalog:
    """The newest loaded version, else the shipped processes/catalog.toml.

    Workers ask on every job that checks materials or zones (~25 ms to parse the file each time), so the parsed
    catalog is memoized by what defines it: a stored version's (id, sha256), or the file's bytes. A new version
    or an edited file is a new key; `Catalog` is frozen and no caller changes its dicts, so sharing it is safe.
    """
    latest = session.execute(_LATEST).first()
    if latest is not None:
        return _stored_catalog(session, latest.id, latest.sha256)
    path = processes_dir / CATALOG_FILE
    return _file_catalog(path.read_bytes(), str(path))


MEMO_SIZE = 4  # catalogs kept per kind (the one in force, plus a few just replaced)
_stored: dict[tuple[int, str], Catalog] = {}  # (version id, sha256 of its file) -> catalog, oldest first
_stored_lock = threading.Lock()  # web threads and workers share it


def _stored_catalog(session: Session, row_id: int, sha256: str) -> Catalog:
    key = (row_id, sha256)
    with _stored_lock:
        found = _stored.get(key)
    if found is None:
        row = session.get(CatalogVersion, row_id)
        assert row is not None
        found = catalog_from_json(row.content)
        with _stored_lock:
            _stored[key] = found
            while len(_stored) > MEMO_SIZE:
                del _stored[next(iter(_stored))]
    return found


@lru_cache(maxsize=MEMO_SIZE)
def _file_catalog(data: bytes, source: str) -> Catalog:
    return parse_catalog(data, source=source)
