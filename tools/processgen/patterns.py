"""Reusable fragments of the approval processes: department reviews, caps, notices, applicant steps.

Naming: review `review_<key>` stores its form under `opinion_<key>`; its limit timer is `deadline_<key>`
(silent default: interrupting → `deem_<key>` → merge `reviewed_<key>`) or `overdue_<key>` (fire and civil air
defence: non-interrupting → `escalate_<key>`, the review stays open). Every variable a parallel branch writes is
namespaced by the element that writes it (DESIGN.md §5: the last merge wins otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.processgen.model import Container, Node, Timer


@dataclass(frozen=True)
class Review:
    key: str
    name: str
    department: str
    matter: str
    committed: int
    statutory: int
    form: str = "review_opinion"
    silent_default: bool = True
    short: str | None = None  # a short label for the deemed/escalation tasks

    @property
    def label(self) -> str:
        return self.short or self.name


def q(text: str) -> str:
    """A string literal for a parameter expression."""
    return repr(text)


def review(c: Container, r: Review) -> tuple[Node, Node]:
    """The review task with its limit timer. Returns (entry, exit): the exit merges the done and deemed paths so
    the review has exactly one outflow (a parallel join after it can never deadlock)."""
    task = c.user(
        f"review_{r.key}", r.name,
        candidateGroups=r.department, department=r.department, matter=r.matter,
        formJsonSchemaFilename=f"{r.form}.schema.json", resultVariable=f"opinion_{r.key}",
        limit_committed_wd=r.committed, limit_statutory_wd=r.statutory, silent_default=r.silent_default,
    )
    if r.silent_default:
        timer = c.boundary(f"deadline_{r.key}", f"{r.committed}个工作日未答复", task,
                           Timer("duration", f"P{r.committed}D"), interrupting=True)
        deem = c.service(
            f"deem_{r.key}", f"视为同意：{r.label}（登记问责，1个工作日内补发正式文书）", "review.deem_approved",
            params={"review": q(f"review_{r.key}"), "department": q(r.department), "matter": q(r.matter),
                    "review_name": q(r.name), "limit_committed_wd": str(r.committed),
                    "project_code": "project_code"},
            result=f"opinion_{r.key}",
        )
        merge = c.xor(f"reviewed_{r.key}")
        c.flow(task, merge)
        c.chain(timer, deem, merge)
        return task, merge
    timer = c.boundary(f"overdue_{r.key}", f"{r.committed}个工作日未答复（不适用默认）", task,
                       Timer("duration", f"P{r.committed}D"), interrupting=False)
    escalate = c.service(
        f"escalate_{r.key}", f"超时督办：{r.label}（报局领导，不默认同意）", "escalation.raise",
        params={"level": q("review"), "subject": q(f"review_{r.key}"), "department": q(r.department),
                "title": q(f"{r.name}超过承诺时限{r.committed}个工作日"), "limit_wd": str(r.committed),
                "project_code": "project_code"},
        result=f"escalation_{r.key}",
    )
    end = c.end(f"escalated_{r.key}", "已督办")
    c.chain(timer, escalate, end)
    return task, task


def approved(*keys: str) -> str:
    """Condition: every listed review approved (a deemed approval counts as approval)."""
    return " and ".join(f'opinion_{k}["decision"] == "approve"' for k in keys)


def cap(c: Container, host: Node, key: str, title: str, days: str, level: str) -> None:
    """A non-interrupting working-day cap on a subprocess: when it passes, the bureau's leadership is told."""
    label = f"{days}个工作日" if days.isdigit() else "总时限"
    text = f"P{days}D" if days.isdigit() else days
    boundary = c.boundary(f"cap_{key}", f"超过{label}", host, Timer("duration", text), interrupting=False)
    escalate = c.service(
        f"escalate_{key}", f"超时限督办：{title}（报局领导）", "escalation.raise",
        params={"level": q(level), "subject": q(key), "department": q("leadership"),
                "title": q(f"{title}超过时限"), "limit_wd": days if days.isdigit() else "cap_wd",
                "project_code": "project_code"},
        result=f"escalation_{key}",
    )
    end = c.end(f"{key}_escalated", "已报局领导")
    c.chain(boundary, escalate, end)


def notice(c: Container, id: str, kind: str, title: str, **extra: str) -> Node:
    """A numbered written notice to the applicant (受理通知书, 补正通知书, ...) through the notices outbox."""
    params = {"kind": q(kind), "credit_code": "credit_code", "project_code": "project_code",
              "project_name": "project_name", **extra}
    return c.service(id, f"发送{title}", "notice.send", params=params, result=id)


def outcome(c: Container, id: str, name: str, variable: str, value: str) -> Node:
    return c.script(id, name, f"{variable} = {value!r}")
