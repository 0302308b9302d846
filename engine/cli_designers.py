"""Designers' commands (issue 11): `definitions list|diff`, `migrate`. Registered on the `approvals` group by cli.py.

They use `click.pass_obj` (the group's CliState) so this module does not import engine.cli back.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from engine.cli import CliState
    from engine.services.definition_diff import DefinitionDiff
    from engine.services.instance_migration import InstancePlan


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group("definitions")
def definitions() -> None:
    """Deployed process versions."""


@definitions.command("list")
@click.option("--key", default=None, help="only this process key")
@click.pass_obj
def definitions_list(state: CliState, key: str | None) -> None:
    """Every deployed version: key, version, when, who, content sha256."""
    from engine.services import deployments

    for d in state.read(lambda s: deployments.list_definitions(s, key=key)):
        click.echo(f"{d.key:<32} v{d.version:<3} {d.deployed_at}  {d.deployed_by:<16} {d.content_sha256[:12]}  "
                   f"{d.file_name}")


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def print_diff(diff: DefinitionDiff) -> None:
    click.echo(f"{diff.key} v{diff.from_version} -> v{diff.to_version}"
               + (": no differences" if diff.empty else ""))
    if diff.elements_added or diff.elements_removed or diff.elements_changed:
        click.echo("elements:")
    for e in diff.elements_added:
        click.echo(f"  + {e.id} ({e.type}{' ' + e.name if e.name else ''})")
    for e in diff.elements_removed:
        click.echo(f"  - {e.id} ({e.type}{' ' + e.name if e.name else ''})")
    for e in diff.elements_changed:
        changes = "; ".join(f"{k} {_value(old)} -> {_value(new)}" for k, (old, new) in e.changes.items())
        click.echo(f"  ~ {e.id} ({e.type}): {changes}")
    if diff.flows_added or diff.flows_removed or diff.flows_changed:
        click.echo("flows:")
    for f in diff.flows_added:
        click.echo(f"  + {f.id}: {f.source} -> {f.target}" + (f" [{f.condition}]" if f.condition else ""))
    for f in diff.flows_removed:
        click.echo(f"  - {f.id}: {f.source} -> {f.target}" + (f" [{f.condition}]" if f.condition else ""))
    for f in diff.flows_changed:
        changes = "; ".join(f"{k} {_value(old)} -> {_value(new)}" for k, (old, new) in f.changes.items())
        click.echo(f"  ~ {f.id}: {changes}")


@definitions.command("diff")
@click.argument("key")
@click.argument("from_version", type=int)
@click.argument("to_version", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def definitions_diff(state: CliState, key: str, from_version: int, to_version: int, fmt: str) -> None:
    """Elements and flows added, removed and changed between versions V1 and V2 of KEY."""
    from engine.services.definition_diff import diff_versions

    diff = state.read(lambda s: diff_versions(s, key, from_version, to_version))
    if fmt == "json":
        click.echo(json.dumps(diff.to_json(), ensure_ascii=False, indent=2))
    else:
        print_diff(diff)


def print_plan(plan: InstancePlan, *, dry_run: bool) -> None:
    who = plan.instance_id + (f" ({plan.business_key})" if plan.business_key else "")
    if not plan.movable:
        click.echo(f"{who} v{plan.from_version}: cannot move")
        for problem in plan.problems:
            click.echo(f"    {problem}")
        return
    verb = "can move" if dry_run else "moved"
    click.echo(f"{who} v{plan.from_version} -> v{plan.to_version}: {verb}")
    for m in plan.moved:
        target = m["to"] if m["to"] == m["from"] else f"{m['from']} -> {m['to']}"
        due = f", due {m['due_at']}" if m.get("due_at") else ""
        click.echo(f"    {m['state']:<8} {target}{due}")
    for c in plan.changed:
        changes = ", ".join(sorted(c.get("changes", {})))
        click.echo(f"    changed  {c['id']}: {changes}")
    for element in plan.dropped:
        click.echo(f"    left     {element} (finished; not in v{plan.to_version}; kept in history)")
    for note in plan.notes:
        click.echo(f"    note     {note}")


@click.command("migrate")
@click.argument("key")
@click.option("--from", "from_version", type=int, required=True, help="the version instances run on now")
@click.option("--to", "to_version", type=int, required=True, help="the version to move them to")
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help='TOML file of old_id = "new_id" lines (ids not listed stay the same)')
@click.option("--dry-run", is_flag=True, help="only say which instances can move and what changes")
@click.option("--as", "actor", default=None, help="who migrates (recorded in history)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def migrate(state: CliState, key: str, from_version: int, to_version: int, map_file: Path | None, dry_run: bool,
            actor: str | None, fmt: str) -> None:
    """Move running instances of KEY from vFROM to vTO, one command each; exit 1 if some could not move."""
    from engine.services import instance_migration

    id_map = instance_migration.read_map(map_file.read_text(encoding="utf-8"), source=str(map_file)) \
        if map_file else {}
    app_state = state.app
    plans = instance_migration.migrate_all(app_state.sessions, app_state.ctx, key, from_version=from_version,
                                           to_version=to_version, id_map=id_map, actor=_actor(actor),
                                           now=app_state.clock.now(), dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps([p.to_json() for p in plans], ensure_ascii=False, indent=2))
    else:
        for plan in plans:
            print_plan(plan, dry_run=dry_run)
        stuck = sum(1 for p in plans if not p.movable)
        done = "can move" if dry_run else "moved"
        click.echo(f"{key} v{from_version} -> v{to_version}: {len(plans) - stuck} of {len(plans)} instance(s) {done}"
                   + (f", {stuck} cannot" if stuck else ""))
    if any(not p.movable for p in plans):
        sys.exit(1)


@click.command("test-processes")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--coverage/--no-coverage", default=True, help="print the coverage per process (default on)")
@click.option("--svg", "svg_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write <process>.coverage.svg files here")
@click.option("--min-flow-coverage", type=click.FloatRange(0, 100), default=None,
              help="exit 1 when a process's flow coverage is below this percentage")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def test_processes(state: CliState, paths: tuple[Path, ...], coverage: bool, svg_dir: Path | None,
                   min_flow_coverage: float | None, fmt: str) -> None:
    """Run scenario files (default: processes/tests/*.toml) on a simulated clock; exit 1 if one fails."""
    from engine.config import load_settings
    from engine.scenarios.coverage import coverage_of
    from engine.scenarios.runner import Workbench, run_scenario
    from engine.scenarios.spec import ScenarioError, read_defaults, read_scenario, scenario_files

    settings = load_settings(state.config)  # no database needed: every scenario gets its own
    processes_dir = settings.path(settings.paths.processes)
    files = scenario_files(list(paths) or [processes_dir / "tests"])
    if not files:
        raise click.UsageError("no scenario files found")
    results, broken = [], []
    with Workbench(settings) as bench:
        for path in files:
            try:
                scenario = read_scenario(path, defaults=read_defaults(path.parent))
            except ScenarioError as exc:
                broken.append(str(exc))
                if fmt == "text":
                    click.echo(f"ERROR {path}: {exc.message}")
                continue
            result = run_scenario(scenario, bench)
            results.append(result)
            if fmt == "text":
                _print_result(result)
        covered = coverage_of(results, bench)
    low = [c for c in covered if min_flow_coverage is not None and c.flow_percent < min_flow_coverage]
    if svg_dir is not None:
        svg_dir.mkdir(parents=True, exist_ok=True)
        for entry in covered:
            (svg_dir / f"{entry.key}.coverage.svg").write_bytes(entry.svg())
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        click.echo(json.dumps({"results": [r.to_json() for r in results], "errors": broken,
                               "coverage": [c.to_json() for c in covered]}, ensure_ascii=False, indent=2))
    else:
        if coverage:
            click.echo("coverage:")
            for entry in covered:
                click.echo("  " + entry.text().replace("\n", "\n  "))
        if svg_dir is not None:
            click.echo(f"wrote {len(covered)} coverage diagram(s) to {svg_dir}")
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed"
                   + (f", {len(broken)} unreadable" if broken else "")
                   + (f"; flow coverage below {min_flow_coverage:g}%: {', '.join(c.key for c in low)}" if low else ""))
    if failed or broken or low:
        sys.exit(1)


def _print_result(result: Any) -> None:
    outcome = result.outcome
    detail = ""
    if outcome is not None:
        ends = ",".join(sorted(outcome.ends)) or "-"
        detail = f"{outcome.status} {ends} {outcome.working_days} WD"
    verdict = "PASS" if result.ok else "FAIL"
    click.echo(f"{verdict} {result.scenario.name:<44} {detail}  ({result.seconds:.1f}s)")
    if result.error:
        click.echo(f"    error: {result.error}")
    for failure in result.failures:
        click.echo(f"    {failure}")


def register(main: click.Group) -> None:
    main.add_command(definitions)
    main.add_command(migrate)
    main.add_command(test_processes)
