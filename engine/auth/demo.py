"""Demo accounts for `make run`: a clerk per department, a leader per department and a bureau leader,
an auditor, a designer, an admin, an applicant and a worker (with a token, issued when it is created).

All people share one demo password, printed by `approvals users demo`; never run it on a production database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.auth import accounts, tokens
from engine.auth.roles import Role
from engine.services.context import EngineContext

DEMO_PASSWORD = "Hohhot-Demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    roles: tuple[str, ...]
    departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoResult:
    account: DemoAccount
    created: bool
    token: str | None = None


def demo_accounts(departments: dict[str, str]) -> list[DemoAccount]:
    people = [DemoAccount(f"clerk.{code}", f"{name}审批员", (Role.CLERK,), (code,))
              for code, name in departments.items()]
    people += [DemoAccount(f"leader.{code}", f"{name}负责人", (Role.LEADER,), (code,))
               for code, name in departments.items()]
    people += [
        DemoAccount("leader", "审批局局长", (Role.LEADER,)),
        DemoAccount("auditor", "审计员", (Role.AUDITOR,)),
        DemoAccount("designer", "流程设计员", (Role.DESIGNER,)),
        DemoAccount("admin", "系统管理员", (Role.ADMIN,)),
        DemoAccount("applicant", "示范建设单位", (Role.APPLICANT,)),
        DemoAccount("worker", "服务任务执行器", (Role.WORKER,)),
    ]
    return people


def ensure_demo_accounts(session: Session, ctx: EngineContext, departments: dict[str, str], *, actor: str,
                         now: datetime) -> list[DemoResult]:
    """Create the demo accounts that are missing; existing ones are left as they are."""
    results = []
    for account in demo_accounts(departments):
        if accounts.find_user(session, account.username) is not None:
            results.append(DemoResult(account, created=False))
            continue
        is_worker = account.roles == (Role.WORKER,)
        accounts.create_user(session, ctx, account.username, display_name=account.display_name,
                             roles=account.roles, departments=account.departments,
                             password=None if is_worker else DEMO_PASSWORD, known_departments=departments,
                             actor=actor, now=now)
        secret = None
        if is_worker:
            secret = tokens.issue(session, ctx, account.username, name="demo worker", days=None, actor=actor,
                                  now=now).secret
        results.append(DemoResult(account, created=True, token=secret))
    return results
