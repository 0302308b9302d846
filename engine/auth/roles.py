"""Roles (DESIGN.md §6) and the authenticated principal that the API and web boundary pass around.

Services keep taking `actor: str`; the role and department checks happen at the HTTP boundary
(engine/api/access.py and engine/auth/policy.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    DESIGNER = "designer"
    CLERK = "clerk"
    LEADER = "leader"
    AUDITOR = "auditor"
    ADMIN = "admin"
    APPLICANT = "applicant"
    WORKER = "worker"


ROLE_LABELS = {
    Role.DESIGNER: "流程设计员",
    Role.CLERK: "审批人员",
    Role.LEADER: "领导",
    Role.AUDITOR: "审计员",
    Role.ADMIN: "系统管理员",
    Role.APPLICANT: "申请人",
    Role.WORKER: "服务任务执行器",
}

# Roles whose members belong to departments (their tasks and projects are scoped to them).
DEPARTMENT_ROLES = frozenset({Role.CLERK, Role.LEADER})


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Role names to roles; unknown names raise ValueError naming the bad one."""
    roles = set()
    for value in values:
        try:
            roles.add(Role(value.strip()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {value!r} (known: {known})") from None
    return frozenset(roles)


@dataclass(frozen=True)
class Principal:
    """Who is acting, with what roles and departments, and how they proved it (session, token or dev)."""

    username: str
    display_name: str
    roles: frozenset[Role]
    departments: frozenset[str]
    via: str
    # Only the development identity: bypasses department and ownership scoping.
    unrestricted: bool = False

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def bureau_wide_leader(self) -> bool:
        """A leader without departments heads the bureau and supervises every department."""
        return Role.LEADER in self.roles and not self.departments

    @classmethod
    def dev(cls, username: str) -> Principal:
        """The X-Actor dev identity: every role, every department. Only with `[security] dev_identity = true`."""
        return cls(username, username, frozenset(Role), frozenset(), "dev", unrestricted=True)
