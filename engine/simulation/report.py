"""The summary of a simulation as text, and `--report DIR`: SVG charts (matplotlib, text kept as text so the
browser renders the Chinese labels with its own fonts) and an HTML page around them."""

from __future__ import annotations

import html
import json
from pathlib import Path

from engine.simulation.figures import Figures

OUTCOME_NAMES = {"permit": "准予许可", "revoked": "撤销许可", "refused": "不予许可", "not_accepted": "不予受理",
                 "returned": "退件", "withdrawn": "撤回", "running": "办理中"}
RONGQUE_NAMES = {"accepted": "容缺受理（按期补齐）", "suspended": "逾期中止后补齐", "returned": "逾期未补齐退件"}


def summary_text(f: Figures) -> str:
    lines = [
        (f"simulated {f.projects} projects ({f.kind}, seed {f.seed}) in {f.seconds:.1f} s "
         f"({f.counters.get('commands', 0)} commands, {f.counters.get('jobs', 0)} jobs, "
         f"{f.counters.get('timers', 0)} timers fired)"),
        "outcomes: " + ", ".join(f"{OUTCOME_NAMES.get(k, k)} {v}" for k, v in f.outcomes.items()),
        f"within cap: {f.within_cap}/{f.permits} permits ({f.share_within_cap:.1%})",
    ]
    for kind, d in f.working_days.items():
        lines.append(f"working days used, {kind} (cap {d['cap']:.0f}): median {d['median']:g}, "
                     f"p95 {d['p95']:g}, max {d['max']:g} over {d['count']:.0f} permits")
    lines.append("per department (reviews / deemed approvals / overdue):")
    for code, d in f.by_department.items():
        lines.append(f"  {code:<15} {d['reviews']:>5} {d['deemed']:>5} {d['overdue']:>5}")
    rongque = ", ".join(f"{RONGQUE_NAMES.get(k, k)} {v}" for k, v in f.rongque.items()) or "none"
    lines.append(f"容缺: {rongque}")
    s = f.profile_submissions
    lines.append(f"profile submissions: {s['total']} for {s['applicants']} applicants "
                 f"({s['per_project']} per project, at most {s['max_per_project']} per project, "
                 f"{s['new_applicants_with_one']} applicants with exactly one)")
    lines.append(f"trips: {f.trips['per_application']} per application, at most {f.trips['max']}")
    lines.append(f"escalated projects: {len(f.escalated)}")
    for e in f.escalated:
        over = f"overrun {e['overrun_wd']} WD" if e["overrun_wd"] else "within cap"
        lines.append(f"  project {e['project']:>4} {e['kind']:<10} {e['outcome']:<9} used {e['used_wd']} / "
                     f"{e['cap_wd']} WD, {over}: {', '.join(e['escalations'])}")
    if f.violations:
        lines.append(f"VIOLATIONS (permit over the cap with every non-defaulting step on time): {len(f.violations)}")
        lines.extend(f"  project {v['project']} used {v['used_wd']} / {v['cap_wd']} WD" for v in f.violations)
    if f.stuck:
        lines.append(f"STUCK: {f.stuck} instance(s) still running with nothing left to happen")
    lines.append("check: " + ("ok" if f.ok else "FAILED"))
    return "\n".join(lines)


def write_report(f: Figures, directory: Path, departments: dict[str, str] | None = None) -> Path:
    """Charts and index.html in `directory` (departments: code -> Chinese name); returns the page's path."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text stays text in the SVG: the browser renders it with its own CJK font. matplotlib only measures it with
    # whatever font it has, and would warn once per missing family name.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
                                       "DejaVu Sans"]
    directory.mkdir(parents=True, exist_ok=True)
    charts = []

    used = f.samples
    fig, axes = plt.subplots(1, max(1, len(used)), figsize=(6 * max(1, len(used)), 3.6), squeeze=False)
    for ax, (kind, values) in zip(axes[0], used.items()):
        cap = f.working_days[kind]["cap"]
        ax.hist(values, bins=range(0, int(max(values + [cap])) + 6, 3), color="#1565c0")
        ax.axvline(cap, color="#c62828", linestyle="--", label=f"总时限 {cap:g} 个工作日")
        ax.set_title(f"{'社会投资' if kind == 'commercial' else '政府投资'}项目：立项至施工许可用时")
        ax.set_xlabel("工作日（扣除不计时）")
        ax.set_ylabel("项目数")
        ax.legend()
    charts.append(_save(fig, directory / "working_days.svg", plt))

    codes = list(f.by_department)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.bar([i - 0.2 for i in range(len(codes))], [f.by_department[c]["overdue"] for c in codes], 0.4,
           label="超过承诺时限", color="#ef6c00")
    ax.bar([i + 0.2 for i in range(len(codes))], [f.by_department[c]["deemed"] for c in codes], 0.4,
           label="超时默认同意", color="#8e24aa")
    ax.set_xticks(range(len(codes)), [(departments or {}).get(c, c) for c in codes], rotation=30, ha="right")
    ax.set_title("各部门超时与超时默认情况")
    ax.legend()
    charts.append(_save(fig, directory / "departments.svg", plt))

    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = [OUTCOME_NAMES.get(k, k) for k in f.outcomes]
    ax.barh(names, list(f.outcomes.values()), color="#2e7d32")
    ax.set_title("办理结果")
    charts.append(_save(fig, directory / "outcomes.svg", plt))

    (directory / "summary.json").write_text(json.dumps(f.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    page = directory / "index.html"
    page.write_text(_html(f, charts), encoding="utf-8")
    return page


def _save(fig: object, path: Path, plt: object) -> str:
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, format="svg")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[attr-defined]
    return path.name


def _html(f: Figures, charts: list[str]) -> str:
    rows = "".join(f"<tr><td>{html.escape(c)}</td><td>{d['reviews']}</td><td>{d['deemed']}</td><td>{d['overdue']}</td>"
                   f"</tr>" for c, d in f.by_department.items())
    escalated = "".join(
        f"<tr><td>{e['project']}</td><td>{e['kind']}</td><td>{html.escape(OUTCOME_NAMES.get(e['outcome'], e['outcome']))}"
        f"</td><td>{e['used_wd']}</td><td>{e['cap_wd']}</td><td>{e['overrun_wd']}</td>"
        f"<td>{html.escape(', '.join(e['escalations']))}</td></tr>" for e in f.escalated)
    images = "".join(f'<figure><img src="{c}" alt="{c}"></figure>' for c in charts)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>审批模拟报告</title>
<style>body{{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
pre{{background:#f6f6f6;padding:1em}}figure{{margin:1em 0}}img{{max-width:100%}}</style></head><body>
<h1>工程建设项目审批模拟报告</h1>
<pre>{html.escape(summary_text(f))}</pre>
{images}
<h2>各部门</h2><table><tr><th>部门</th><th>审查</th><th>超时默认同意</th><th>超过承诺时限</th></tr>{rows}</table>
<h2>有督办的项目</h2><table><tr><th>项目</th><th>类型</th><th>结果</th><th>用时</th><th>总时限</th><th>超出</th>
<th>督办</th></tr>{escalated}</table>
</body></html>
"""
