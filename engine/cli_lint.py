"""`approvals lint [--strict] [PATH…]`: check BPMN files and print `file:line: rule-id: message`.

The CLI is the one place that may import workers/ (DESIGN.md §2): it hands lint the topics of `workers.ROUTERS`.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from engine.bpmn.lint import LintContext, Severity, lint, load_departments, locale_from_env
from engine.config import load_settings


def known_topics() -> frozenset[str] | None:
    """Topics served by workers/: `workers.ROUTERS`, a list of `engine.sdk.TaskRouter` (each has `.topics`).
    None (the topic rule is skipped) when workers/ cannot be imported or a router has no topic list."""
    try:
        import workers
    except ImportError:
        return None
    routers = getattr(workers, "ROUTERS", None)
    if routers is None:
        return None
    topics: set[str] = set()
    for router in routers:
        names = getattr(router, "topics", None)
        if callable(names):
            names = names()
        if names is None:
            return None
        topics.update(str(name) for name in names)
    return frozenset(topics)


def _files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.bpmn")) if path.is_dir() else [path])
    return files


def _shown(path: Path) -> str:
    """The path as a designer typed it; an absolute one inside the working directory relative to it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--strict", is_flag=True, help="treat warnings as errors")
@click.pass_context
def lint_command(ctx: click.Context, paths: tuple[Path, ...], strict: bool) -> None:
    """Check BPMN files (default: every processes/*.bpmn). Exit 1 on errors (on warnings too with --strict).

    Messages are Chinese when APPROVALS_LOCALE (else LANG) starts with zh."""
    settings = load_settings(ctx.obj.config)  # lint needs paths only: no database, no audit key
    processes_dir = settings.path(settings.paths.processes)
    files = _files(paths or (processes_dir,))
    if not files:
        raise click.UsageError("no .bpmn files found")
    topics = functools.cache(known_topics)
    context = LintContext(forms_dir=settings.path(settings.paths.forms),
                          departments=load_departments(processes_dir / "departments.toml"), topics=topics)
    locale = locale_from_env()
    errors = warnings = 0
    for path in files:
        for finding in lint(path.read_bytes(), file=_shown(path), context=context):
            click.echo(finding.format(locale, strict=strict))
            if finding.severity == Severity.ERROR:
                errors += 1
            else:
                warnings += 1
    if locale == "zh":
        summary = f"lint：{len(files)} 个文件，{errors} 个错误，{warnings} 个警告"
    else:
        summary = f"lint: {len(files)} file(s), {errors} error(s), {warnings} warning(s)"
    click.echo(summary + (" (--strict)" if strict and warnings else ""), err=True)
    if topics() is None:  # say so rather than pass silently: e.g. a stale install that cannot see workers/
        click.echo("note: workers.ROUTERS could not be read, so service-task topics were not checked "
                   "(unknown-topic)", err=True)
    if errors or (strict and warnings):
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(lint_command)
