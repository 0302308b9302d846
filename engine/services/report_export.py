"""The reports as text tables and CSV (the CLI's `--format table|csv` and the API's `?format=csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from engine.services.reports import AccountabilityReport, CapRow

ACCOUNTABILITY_COLUMNS = ["department", "department_name", "step", "step_name", "reviews", "on_time", "overdue",
                          "deemed", "projects"]
CAPS_COLUMNS = ["instance_id", "business_key", "process_key", "status", "accepted_on", "ended_at", "cap_wd",
                "used_wd", "paused_wd", "remaining_wd", "within_cap", "pauses", "stages"]


def to_csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def accountability_csv(report: AccountabilityReport) -> str:
    return to_csv(ACCOUNTABILITY_COLUMNS, [
        [r.department, r.department_name, r.step, r.step_name, r.reviews, r.on_time, r.overdue, r.deemed,
         ";".join(r.projects)] for r in report.rows])


def accountability_table(report: AccountabilityReport) -> str:
    lines = [f"{'部门':<12} {'环节':<22} {'审查':>4} {'按时':>4} {'超期':>4} {'默认':>4}  项目"]
    for r in report.rows:
        lines.append(f"{r.department_name[:12]:<12} {r.step_name[:22]:<22} {r.reviews:>4} {r.on_time:>4} "
                     f"{r.overdue:>4} {r.deemed:>4}  {', '.join(r.projects)}")
    lines.append(f"合计：超期 {report.overdue}，超时默认同意 {report.deemed}（{report.generated_at}）")
    return "\n".join(lines)


def _stages_text(row: CapRow) -> str:
    return ";".join(f"{s.name}={s.working_days if s.working_days is not None else '-'}" for s in row.stages)


def _pauses_text(row: CapRow) -> str:
    return ";".join(f"{p.reason}:{p.paused_at}..{p.resumed_at or ''}" for p in row.pauses)


def caps_csv(rows: Sequence[CapRow]) -> str:
    return to_csv(CAPS_COLUMNS, [
        [r.instance_id, r.business_key or "", r.process_key, r.status, r.accepted_on, r.ended_at or "",
         "" if r.cap_wd is None else r.cap_wd, r.used_wd, r.paused_wd,
         "" if r.remaining_wd is None else r.remaining_wd, "" if r.within_cap is None else r.within_cap,
         _pauses_text(r), _stages_text(r)] for r in rows])


def caps_table(rows: Sequence[CapRow]) -> str:
    lines = [f"{'项目':<14} {'流程':<30} {'状态':<10} {'受理日':<10} {'已用':>4} {'上限':>4} {'暂停':>4}  阶段"]
    for r in rows:
        cap = "-" if r.cap_wd is None else str(r.cap_wd)
        flag = "" if r.within_cap in (None, True) else "  超出上限"
        lines.append(f"{(r.business_key or r.instance_id[:8]):<14} {r.process_key[:30]:<30} {r.status:<10} "
                     f"{r.accepted_on:<10} {r.used_wd:>4} {cap:>4} {r.paused_wd:>4}  {_stages_text(r)}{flag}")
    within = sum(1 for r in rows if r.within_cap)
    capped = sum(1 for r in rows if r.cap_wd is not None)
    lines.append(f"{len(rows)} 个项目，{within}/{capped} 在上限内")
    return "\n".join(lines)
