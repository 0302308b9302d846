"""Who may see and act on which task and project: the object-level rules behind DESIGN.md §3.7.

The route-level rules (which roles may call a route at all) are in engine/api/access.py; these functions
answer the finer question for one task or instance, the same way for the API and the web pages.
- Clerks see and act on the tasks of their departments (a task's candidate groups are department codes)
  and on tasks assigned to them; they see the projects those tasks belong to and the ones they started.
- Leaders see their departments' tasks and projects (a leader without departments: all of them); they
  may transfer a task within the department but do not complete it.
- Auditors and admins see everything; auditors change nothing (enforced by the route rules).
- Applicants see the projects they started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth.roles import Principal, Role
from engine.errors import Forbidden
from engine.models import HumanTask, ProcessInstance


@dataclass(frozen=True)
class TaskScope:
    """A filter for task lists: everything, or tasks of these departments plus those assigned to `assignee`."""

    everything: bool
    departments: frozenset[str] = frozenset()
    assignee: str | None = None

    def admits(self, candidate_groups: Iterable[str], assignee: str | None) -> bool:
        if self.everything:
            return True
        return bool(self.departments.intersection(candidate_groups)) or (
            self.assignee is not None and assignee == self.assignee)


NOTHING = TaskScope(everything=False)


def sees_everything(p: Principal) -> bool:
    return p.unrestricted or p.has(Role.AUDITOR, Role.ADMIN) or p.bureau_wide_leader


def task_scope(p: Principal) -> TaskScope:
    if sees_everything(p):
        return TaskScope(everything=True)
    if p.has(Role.CLERK, Role.LEADER):
        return TaskScope(everything=False, departments=p.departments, assignee=p.username)
    return NOTHING


def can_see_task(p: Principal, task: HumanTask) -> bool:
    return task_scope(p).admits(task.candidate_groups or [], task.assignee)


def can_work_task(p: Principal, task: HumanTask) -> bool:
    """Claim, unclaim, save a draft, complete: a clerk of one of the task's departments (or its assignee)."""
    if p.unrestricted:
        return True
    if not p.has(Role.CLERK):
        return False
    return bool(p.departments.intersection(task.candidate_groups or [])) or task.assignee == p.username


def can_transfer_task(p: Principal, task: HumanTask) -> bool:
    """The clerk who holds (or could take) the task, or a leader of its department."""
    if p.unrestricted:
        return True
    if p.has(Role.LEADER) and (p.bureau_wide_leader or p.departments.intersection(task.candidate_groups or [])):
        return True
    return can_work_task(p, task) and task.assignee in (None, p.username)


def require_task(p: Principal, task: HumanTask, *, work: bool = False) -> None:
    allowed = can_work_task(p, task) if work else can_see_task(p, task)
    if not allowed:
        verb = "act on" if work else "see"
        raise Forbidden(f"{p.username} may not {verb} task {task.id} (departments: "
                        f"{', '.join(task.candidate_groups or []) or 'none'})")


def instance_ids_in_scope(session: Session, p: Principal) -> set[str] | None:
    """None means every instance; otherwise the ids this principal may see."""
    if sees_everything(p):
        return None
    ids: set[str] = set()
    if p.has(Role.CLERK, Role.LEADER, Role.APPLICANT):
        ids |= set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.started_by == p.username)))
    if p.has(Role.APPLICANT):
        ids |= _enterprise_instances(session, p)
    if p.has(Role.CLERK, Role.LEADER):
        scope = task_scope(p)
        for instance_id, groups, assignee in session.execute(
                select(HumanTask.instance_id, HumanTask.candidate_groups, HumanTask.assignee)):
            if scope.admits(groups or [], assignee):
                ids.add(instance_id)
    return ids


def can_see_instance(session: Session, p: Principal, instance: ProcessInstance) -> bool:
    if sees_everything(p):
        return True
    if p.has(Role.CLERK, Role.LEADER, Role.APPLICANT) and instance.started_by == p.username:
        return True
    if p.has(Role.APPLICANT) and instance.id in _enterprise_instances(session, p):
        return True
    if not p.has(Role.CLERK, Role.LEADER):
        return False
    scope = task_scope(p)
    return any(scope.admits(groups or [], assignee) for groups, assignee in session.execute(
        select(HumanTask.candidate_groups, HumanTask.assignee).where(HumanTask.instance_id == instance.id)))


def require_instance(session: Session, p: Principal, instance: ProcessInstance) -> None:
    if not can_see_instance(session, p, instance):
        raise Forbidden(f"{p.username} may not see process instance {instance.id}")


def _enterprise_instances(session: Session, p: Principal) -> set[str]:
    """An enterprise account also sees its enterprise's applications registered at the window (issue 8)."""
    from engine.portal.access import enterprise_instance_ids

    return enterprise_instance_ids(session, p.username)


def needs_personal_data(p: Principal) -> bool:
    """ID-card and phone numbers in clear: admins, auditors (verification, replay) and the front window,
    which checks identities at intake. Everyone else sees them masked."""
    return p.unrestricted or p.has(Role.ADMIN, Role.AUDITOR) or (p.has(Role.CLERK) and "window" in p.departments)
