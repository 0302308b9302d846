"""A project's Gantt chart in working days (matplotlib SVG; text stays text, so Chinese needs no font file).

The x axis is the legal clock: working days since acceptance, less paused days. Rows are the stages, then every
user task in the order it opened; a task's bar runs from its opening to its completion (or now). Colours: on
time, overdue (completed after its committed due or still open past it), deemed approved, open, cancelled.
The cap is a vertical line; pauses are marked where they began.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import SHANGHAI, WorkCalendar
from engine.diagram.model import parse_semantics
from engine.models import HumanTask, HumanTaskStatus, ProcessDefinition
from engine.services import history
from engine.services.instances import get_instance
from engine.services.reports import CapRow, Deemed, WorkingDayClock, cap_row, deemed_in

FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
         "DejaVu Sans", "sans-serif"]
COLORS = {"stage": "#90a4ae", "on_time": "#2e7d32", "overdue": "#c62828", "deemed": "#8e24aa", "open": "#1565c0",
          "cancelled": "#bdbdbd"}
LABELS = {"stage": "阶段", "on_time": "按时办结", "overdue": "超期", "deemed": "超时默认同意", "open": "办理中",
          "cancelled": "已取消"}


@dataclass(frozen=True)
class Bar:
    label: str
    start: float
    length: float
    kind: str


def _day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def bars(row: CapRow, tasks: list[HumanTask], clock: WorkingDayClock, deemed: set[str], now: datetime) -> list[Bar]:
    accepted = date.fromisoformat(row.accepted_on)
    found = [Bar(f"{s.name}", float(s.start_wd), float(max(s.working_days or 0, 0)), "stage")
             for s in row.stages if s.start_wd is not None]
    for task in tasks:
        opened = _day(task.created_at)
        closed = _day(task.completed_at) if task.completed_at else _day(now)
        start = clock.elapsed(accepted, opened)
        length = clock.elapsed(opened, closed)
        if task.id in deemed:
            kind = "deemed"
        elif task.status == HumanTaskStatus.CANCELLED:
            kind = "cancelled"
        elif task.due_at is not None and (task.completed_at or now) > task.due_at:
            kind = "overdue"
        elif task.status == HumanTaskStatus.OPEN:
            kind = "open"
        else:
            kind = "on_time"
        found.append(Bar(task.name or task.bpmn_id, float(start), float(length), kind))
    return found


def gantt_svg(row: CapRow, chart_bars: list[Bar], *, title: str) -> bytes:
    """The chart as SVG bytes with `svg.fonttype = "none"`."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    params = {"svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": FONTS,
              "axes.unicode_minus": False, "svg.hashsalt": "gantt"}
    with matplotlib.rc_context(params), warnings.catch_warnings():
        # Without a CJK font installed matplotlib measures Chinese with a fallback and says so; the SVG keeps
        # the text as text either way, and the viewer's font draws it.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r".*findfont.*")
        height = 1.6 + 0.38 * max(len(chart_bars), 1)
        figure = Figure(figsize=(11, height))
        axes = figure.add_subplot()
        labels = [b.label for b in chart_bars]
        positions = list(range(len(chart_bars)))
        for y, bar in zip(positions, chart_bars):
            axes.barh(y, max(bar.length, 0.15), left=bar.start, height=0.6, color=COLORS[bar.kind],
                      edgecolor="#263238" if bar.kind == "stage" else "none", linewidth=0.5)
            axes.text(bar.start + max(bar.length, 0.15) + 0.3, y, f"{bar.length:g}", va="center", fontsize=8)
        axes.set_yticks(positions, labels=labels, fontsize=9)
        axes.invert_yaxis()
        axes.set_xlabel("工作日（自受理日起，扣除暂停）")
        if row.cap_wd is not None:
            axes.axvline(row.cap_wd, color="#c62828", linestyle="--", linewidth=1.2)
            axes.text(row.cap_wd, -0.9, f"上限 {row.cap_wd} 工作日", color="#c62828", fontsize=9, ha="center")
        axes.axvline(row.used_wd, color="#1565c0", linestyle=":", linewidth=1)
        axes.text(row.used_wd, -0.9 if row.cap_wd != row.used_wd else -1.5, f"已用 {row.used_wd}",
                  color="#1565c0", fontsize=8, ha="center")
        axes.set_axisbelow(True)
        right = max([b.start + b.length for b in chart_bars] + [row.cap_wd or 0, row.used_wd]) + 3
        axes.set_xlim(0, right)
        axes.grid(axis="x", color="#eceff1")
        axes.set_title(title, fontsize=12)
        used = sorted({b.kind for b in chart_bars}, key=list(COLORS).index)
        axes.legend(handles=[Patch(color=COLORS[k], label=LABELS[k]) for k in used], loc="lower right",
                    fontsize=8, frameon=False)
        figure.tight_layout()
        buffer = io.BytesIO()
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None})
    return buffer.getvalue()


def project_gantt(session: Session, instance_id: str, *, calendar: WorkCalendar, now: datetime) -> bytes:
    """The Gantt chart of one project (instance)."""
    instance = get_instance(session, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None  # FK
    events = history.list_events(session, instance.id)
    row = cap_row(instance, definition, events, calendar, now)
    accepted = date.fromisoformat(row.accepted_on)
    pauses = [(_day(datetime.fromisoformat(p.paused_at)),
               _day(datetime.fromisoformat(p.resumed_at)) if p.resumed_at else _day(instance.ended_at or now))
              for p in row.pauses]
    clock = WorkingDayClock(calendar, pauses)
    tasks = sorted(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)),
                   key=lambda t: (t.created_at, t.completed_at or datetime.max.replace(tzinfo=SHANGHAI), t.bpmn_id))
    found = deemed_in(events, parse_semantics(definition.source_xml.encode("utf-8"), file=definition.file_name),
                      definition.elements or {})
    deemed = _deemed_task_ids(found, tasks)
    label = instance.business_key or instance.id[:8]
    title = f"{definition.name or definition.process_key} · {label} · 受理 {accepted.isoformat()}"
    return gantt_svg(row, bars(row, tasks, clock, deemed, now), title=title)


def _deemed_task_ids(found: Sequence[Deemed], tasks: list[HumanTask]) -> set[str]:
    """The tasks deemed approved: by task id when recorded, else the task of that step closed at that instant
    (the timer cancelled it), else the latest closed one before it."""
    ids: set[str] = set()
    for deemed in found:
        if deemed.task_id:
            ids.add(deemed.task_id)
            continue
        closed = [t for t in tasks if t.bpmn_id == deemed.bpmn_id and t.status != HumanTaskStatus.OPEN
                  and t.created_at <= deemed.at]
        exact = [t for t in closed if t.completed_at == deemed.at]
        if exact or closed:
            ids.add((exact or closed)[-1].id)
    return ids
