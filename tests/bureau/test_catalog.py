"""The matter catalog: the shipped sample parses and agrees with the shipped processes; a bad file names its bad
key and changes nothing; loading stores a version (same bytes: unchanged); materials and zones as intake sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.auth.departments import load_departments
from engine.bpmn.parsing import load_process
from engine.bureau import catalog
from engine.bureau.errors import InvalidCatalog
from engine.cli import main
from engine.config import Settings
from engine.models import CatalogVersion
from tests.conftest import ROOT, engine_state

SHIPPED = ROOT / "processes" / "catalog.toml"
DEPARTMENTS = load_departments(ROOT / "processes")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def shipped() -> catalog.Catalog:
    return catalog.parse_catalog(SHIPPED.read_bytes(), departments=DEPARTMENTS)


def test_the_shipped_catalog_is_a_marked_sample_with_six_preconditions() -> None:
    c = shipped()
    assert c.sample is True and "示例" in c.title
    assert len(c.preconditions) == 6
    assert {z.id for z in c.zones.values()} == {"hlgr-core", "etdz-shaerqin", "jinqiao-old"}
    assert all(m.limit_committed_wd <= m.limit_statutory_wd for m in c.matters.values())


@pytest.mark.parametrize("key", ["commercial_project", "government_investment_project"])
def test_every_review_in_the_process_matches_its_matter(key: str) -> None:
    """Limits, department and silent default of each review come from the catalog: they must agree."""
    c = shipped()
    parsed = load_process((ROOT / "processes" / f"{key}.bpmn").read_bytes(), file=key)
    reviews = [e for e in parsed.elements.values() if e.properties.get("limit_committed_wd")]
    assert len(reviews) >= 20
    used = set()
    for e in reviews:
        matter = c.matters[e.properties["matter"]]
        used.add(matter.code)
        assert key in matter.processes, e.bpmn_id
        assert e.properties["department"] == matter.department, e.bpmn_id
        assert int(e.properties["limit_statutory_wd"]) == matter.limit_statutory_wd, e.bpmn_id
        committed = int(e.properties["limit_committed_wd"])
        if e.bpmn_id == "review_permit_commitment":
            assert committed == matter.commitment_limit_committed_wd
        else:
            assert committed == matter.limit_committed_wd, e.bpmn_id
        assert (e.properties["silent_default"] == "true") == matter.silent_default or e.bpmn_id == \
            "completeness_decision", e.bpmn_id
    assert used == {m.code for m in c.matters_for(key)}


def test_preconditions_hold_in_the_processes() -> None:
    """A listed precondition's review comes before the review it conditions, in every process using both."""
    c = shipped()
    for key in ("commercial_project", "government_investment_project"):
        text = (ROOT / "processes" / f"{key}.bpmn").read_text(encoding="utf-8")
        for p in c.preconditions:
            if key in c.matters[p.matter].processes and key in c.matters[p.requires].processes:
                first = text.index(f'name="matter" value="{p.requires}"')
                then = text.index(f'name="matter" value="{p.matter}"')
                assert first < then, (key, p)  # the generator writes elements in flow order


def test_materials_and_rongque_eligibility() -> None:
    c = shipped()
    everything = [m.code for mt in c.matters_for("commercial_project") for m in mt.materials]
    assert c.check_materials("commercial_project", everything)["complete"] is True
    missing_secondary = [x for x in everything if x != "ZRZY-02-M3"]
    result = c.check_materials("commercial_project", missing_secondary)
    assert (result["missing_secondary"], result["rongque_eligible"]) == (["ZRZY-02-M3"], True)
    no_rongque = c.check_materials("commercial_project", [x for x in everything if x != "ZRZY-04-M2"])
    assert no_rongque["rongque_eligible"] is False  # the design-review matter does not allow 容缺
    primary = c.check_materials("commercial_project", [x for x in everything if x != "ZRZY-02-M1"] + ["X-1"])
    assert (primary["missing_primary"], primary["unknown"], primary["rongque_eligible"]) == (["ZRZY-02-M1"],
                                                                                            ["X-1"], False)
    covered = c.check_materials("commercial_project", [x for x in everything if x != "STHJ-01-M1"], ["eia"])
    assert covered["complete"] is True and "STHJ-01" not in covered["matters"]


def test_zone_coverage_depends_on_validity_and_the_negative_list() -> None:
    c = shipped()
    assert c.zone_coverage("hlgr-core", "", date(2026, 3, 2))["covers"][:3] == ["eia", "water_soil", "heritage"]
    assert c.zone_coverage("hlgr-core", "化工", date(2026, 3, 2))["covers"] == []
    assert c.zone_coverage("jinqiao-old", "", date(2026, 3, 2))["covers"] == []  # expired 2025-12-31
    assert c.zone_coverage("", "", date(2026, 3, 2))["covers"] == []


@pytest.mark.parametrize("edit, where", [
    (lambda t: t.replace('title = "呼和浩特', 'titel = "呼和浩特', 1), "catalog.titel: unknown key"),
    (lambda t: t.replace('department = "drc"', 'department = "finance"', 1), "matters[1].department"),
    (lambda t: t.replace("limit_committed_wd = 1\n", "limit_committed_wd = 9\n", 1), "exceeds the statutory"),
    (lambda t: t.replace('kind = "primary"', 'kind = "main"', 1), "matters[0].materials[0].kind"),
    (lambda t: t.replace('requires = "ZRZY-01"', 'requires = "ZZ-99"', 1), "preconditions[0].requires"),
    (lambda t: t.replace("valid_until = 2026-12-31", "valid_until = 2024-12-31", 1), "zones[0].valid_until"),
    (lambda t: t.replace('code = "FGW-02"', 'code = "FGW-01"', 1), "duplicate matter FGW-01"),
    (lambda t: t + "\n[[matters]]\ncode = 1\n", "must be str"),
    (lambda t: t.replace("[catalog]", "[catalog", 1), "not a valid UTF-8 TOML"),
])
def test_a_bad_catalog_names_the_problem(edit: object, where: str) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    with pytest.raises(InvalidCatalog) as error:
        catalog.parse_catalog(edit(text).encode(), source="bad.toml", departments=DEPARTMENTS)  # type: ignore
    assert where in error.value.detail
    assert error.value.detail.startswith("bad.toml")


def test_a_precondition_cycle_is_refused() -> None:
    text = SHIPPED.read_text(encoding="utf-8") + ('\n[[preconditions]]\nmatter = "ZRZY-01"\nrequires = "FGW-03"\n'
                                                  'basis = "x"\n')
    with pytest.raises(InvalidCatalog, match="cycle"):
        catalog.parse_catalog(text.encode(), departments=DEPARTMENTS)


def test_load_cli_stores_a_version_and_reports_unchanged(app: Flask, settings: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    config = _config(settings, tmp_path)
    first = runner.invoke(main, ["--config", str(config), "catalog", "load", str(SHIPPED)])
    assert first.exit_code == 0, first.output
    assert "loaded catalog 2026-sample-1 (representative sample): 27 matters, 6 preconditions, 3 zones" in first.output
    again = runner.invoke(main, ["--config", str(config), "catalog", "load", str(SHIPPED)])
    assert again.output.startswith("unchanged")
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.read_text(encoding="utf-8").replace("stage = 2", "stage = 7", 1), encoding="utf-8")
    refused = runner.invoke(main, ["--config", str(config), "catalog", "load", str(bad)])
    assert refused.exit_code == 1 and "stage: must be 1, 2, 3 or 4" in refused.output
    with engine_state(app).sessions() as s:
        assert s.scalar(select(func.count()).select_from(CatalogVersion)) == 1
        assert catalog.current_catalog(s, ROOT / "processes").version == "2026-sample-1"


def _config(settings: Settings, tmp_path: Path) -> Path:
    """A config file pointing the CLI at the test's database and directories."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\nsqlite_synchronous = "NORMAL"\n'
        f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{ROOT / "forms"}"\nvar = "{tmp_path / "var"}"\n'
        f'[audit]\nhmac_key = "test-audit-key-0123456789abcdef"\n', encoding="utf-8")
    return path


def test_the_memoized_catalog_follows_the_file_and_new_versions(session: Session, tmp_path: Path) -> None:
    processes = tmp_path / "processes"
    processes.mkdir()
    path = processes / catalog.CATALOG_FILE
    path.write_bytes(SHIPPED.read_bytes())
    first = catalog.current_catalog(session, processes)
    assert first.version == "2026-sample-1" and catalog.current_catalog(session, processes) is first
    path.write_text(SHIPPED.read_text(encoding="utf-8").replace('"2026-sample-1"', '"2026-sample-2"', 1),
                    encoding="utf-8")
    assert catalog.current_catalog(session, processes).version == "2026-sample-2"  # an edited file is re-read
    edited = SHIPPED.read_text(encoding="utf-8").replace('"2026-sample-1"', '"2026-sample-3"', 1).encode()
    for data in (SHIPPED.read_bytes(), edited):
        catalog.load_catalog(session, data, source="x.toml", departments=DEPARTMENTS, actor="t", now=NOW)
        stored = catalog.current_catalog(session, processes)
        assert stored == catalog.parse_catalog(data) and catalog.current_catalog(session, processes) is stored
    assert catalog.current_catalog(session, processes).version == "2026-sample-3"  # the newest version is in force
