"""Which roles may call which route: one table for the JSON API and the web pages (DESIGN.md §3.7).

Keys are Flask URL rules exactly as registered (`/api/tasks/<task_id>`); prefix rules cover route families
built elsewhere (external tasks, incidents, the auditor pages). A route with no rule is refused for everyone
(fail closed), and tests/auth/test_role_routes.py fails when a registered route has no rule here.
Object-level scoping (which department's task, whose project) is engine/auth/policy.py's job.
"""

from __future__ import annotations

import enum

from engine.auth.roles import Role


class Access(enum.Enum):
    PUBLIC = "public"        # no sign-in needed
    SIGNED_IN = "signed-in"  # any signed-in user


Allowed = frozenset[Role] | Access

D, C, L, AU, AD, AP, W = (Role.DESIGNER, Role.CLERK, Role.LEADER, Role.AUDITOR, Role.ADMIN, Role.APPLICANT,
                          Role.WORKER)
CASE_READERS = frozenset({C, L, AU, AD, AP})  # projects: scoped by policy
TASK_READERS = frozenset({C, L, AU, AD})      # tasks: scoped by policy
CATALOG_READERS = frozenset({D, C, L, AU, AD, AP})

RULES: dict[str, dict[str, Allowed]] = {
    # JSON API
    "/api/health": {"GET": Access.PUBLIC},
    "/api/openapi.json": {"GET": Access.PUBLIC},
    "/metrics": {"GET": frozenset({AD})},  # or public with `[server] metrics_public` (engine/api/access.py)
    "/api/process-definitions": {"GET": CATALOG_READERS, "POST": frozenset({D})},
    "/api/process-definitions/<int:definition_id>": {"GET": CATALOG_READERS},
    "/api/process-definitions/<int:definition_id>/xml": {"GET": CATALOG_READERS},
    "/api/process-definitions/key/<key>/versions": {"GET": CATALOG_READERS},
    "/api/process-definitions/key/<key>/start": {"POST": frozenset({C, AP})},
    "/api/process-instances": {"GET": CASE_READERS},
    "/api/process-instances/<instance_id>": {"GET": CASE_READERS},
    "/api/process-instances/<instance_id>/suspend": {"POST": frozenset({AD})},
    "/api/process-instances/<instance_id>/resume": {"POST": frozenset({AD})},
    "/api/process-instances/<instance_id>/terminate": {"POST": frozenset({AD})},
    "/api/tasks": {"GET": TASK_READERS},
    "/api/tasks/<task_id>": {"GET": TASK_READERS},
    "/api/tasks/<task_id>/claim": {"POST": frozenset({C})},
    "/api/tasks/<task_id>/unclaim": {"POST": frozenset({C})},
    "/api/tasks/<task_id>/complete": {"POST": frozenset({C})},
    "/api/tasks/<task_id>/transfer": {"POST": frozenset({C, L})},
    "/api/history/process-instances/<instance_id>/events": {"GET": CASE_READERS},
    # Auditors' views (issue 10): diagrams for whoever may see the case; replay, verification, reports.
    "/api/process-definitions/<int:definition_id>/diagram.svg": {"GET": CATALOG_READERS},
    "/api/process-instances/<instance_id>/diagram.svg": {"GET": CASE_READERS},
    "/api/process-instances/<instance_id>/replay": {"GET": frozenset({L, AU, AD})},
    "/api/audit/verify": {"GET": frozenset({AU, AD})},
    "/api/reports/accountability": {"GET": frozenset({L, AU, AD})},
    "/api/reports/caps": {"GET": frozenset({L, AU, AD})},
    "/api/reports/gantt/<instance_id>.svg": {"GET": frozenset({L, AU, AD})},
    # Designers (issue 11): version diffs for those who read the catalog; migrations by designers and admins.
    "/api/process-definitions/key/<key>/diff": {"GET": frozenset({D, AU, AD})},
    "/api/process-definitions/key/<key>/migrate": {"POST": frozenset({D, AD})},
    "/api/process-instances/<instance_id>/migrate": {"POST": frozenset({D, AD})},
    # The bureau (issue 7): profiles by applicants or the window; the feed for enforcement (read by auditors or a
    # worker token); formal documents owed by departments after a deemed approval.
    "/api/applicants": {"POST": frozenset({C, AP})},
    "/api/applicants/<credit_code>": {"GET": frozenset({C, L, AU, AD})},
    "/api/applications/<key>": {"POST": frozenset({C, AP})},
    "/api/enforcement-feed": {"GET": frozenset({AU, AD, W})},
    "/api/obligations": {"GET": frozenset({C, L, AU, AD})},
    "/api/obligations/<obligation_id>/fulfil": {"POST": frozenset({C})},
    # Web pages
    "/web-static/<path:filename>": {"GET": Access.PUBLIC},
    "/login": {"GET": Access.PUBLIC, "POST": Access.PUBLIC},
    "/logout": {"POST": Access.SIGNED_IN},
    "/lang/<code>": {"GET": Access.PUBLIC},
    "/": {"GET": Access.SIGNED_IN},
    "/inbox": {"GET": TASK_READERS},
    "/tasks/<task_id>": {"GET": TASK_READERS},
    "/tasks/<task_id>/claim": {"POST": frozenset({C})},
    "/tasks/<task_id>/unclaim": {"POST": frozenset({C})},
    "/tasks/<task_id>/complete": {"POST": frozenset({C})},
    "/tasks/<task_id>/draft": {"POST": frozenset({C})},
    "/tasks/<task_id>/transfer": {"POST": frozenset({C, L})},
    "/projects": {"GET": CASE_READERS},
    "/projects/<instance_id>": {"GET": CASE_READERS},
    "/projects/<instance_id>/diagram.svg": {"GET": CASE_READERS},
    "/projects/<instance_id>/suspend": {"POST": frozenset({AD})},
    "/projects/<instance_id>/resume": {"POST": frozenset({AD})},
    "/projects/<instance_id>/terminate": {"POST": frozenset({AD})},
    "/dashboard": {"GET": frozenset({L, AU, AD})},
    "/definitions": {"GET": frozenset({D, AU, AD})},
    # Applicants' portal, front window, documents, verification (issue 8): scoping in engine/portal/access.py.
    "/portal/register": {"GET": Access.PUBLIC, "POST": Access.PUBLIC},
    "/documents/<document_id>": {"GET": CASE_READERS},
    "/verify": {"GET": Access.PUBLIC},
    "/verify/<code>": {"GET": Access.PUBLIC},
    # Camunda 7 compatibility layer (issue 12): the same roles as the /api routes it mirrors.
    "/engine-rest/engine": {"GET": Access.SIGNED_IN},
    "/engine-rest/version": {"GET": Access.SIGNED_IN},
    "/engine-rest/<path:unsupported>": {m: Access.PUBLIC for m in ("GET", "POST", "PUT", "DELETE", "PATCH")},
    "/engine-rest/process-definition": {"GET": CATALOG_READERS},
    "/engine-rest/process-definition/count": {"GET": CATALOG_READERS},
    "/engine-rest/process-definition/<definition_id>": {"GET": CATALOG_READERS},
    "/engine-rest/process-definition/key/<key>": {"GET": CATALOG_READERS},
    "/engine-rest/process-definition/key/<key>/start": {"POST": frozenset({C, AP})},
    "/engine-rest/process-definition/<definition_id>/start": {"POST": frozenset({C, AP})},
    "/engine-rest/process-instance/<instance_id>": {"GET": CASE_READERS},
    "/engine-rest/task": {"GET": TASK_READERS},
    "/engine-rest/task/count": {"GET": TASK_READERS},
    "/engine-rest/task/<task_id>": {"GET": TASK_READERS},
    "/engine-rest/task/<task_id>/claim": {"POST": frozenset({C})},
    "/engine-rest/task/<task_id>/unclaim": {"POST": frozenset({C})},
    "/engine-rest/task/<task_id>/complete": {"POST": frozenset({C})},
    "/engine-rest/deployment": {"GET": frozenset({D, AU, AD})},
    "/engine-rest/deployment/count": {"GET": frozenset({D, AU, AD})},
    "/engine-rest/deployment/<deployment_id>": {"GET": frozenset({D, AU, AD})},
    "/engine-rest/deployment/create": {"POST": frozenset({D})},
}

# Route families owned by other modules: every rule under the prefix gets these methods' roles.
PREFIX_RULES: list[tuple[str, dict[str, Allowed]]] = [
    ("/api/external-tasks", {"GET": frozenset({W}), "POST": frozenset({W})}),
    ("/engine-rest/external-task", {"GET": frozenset({W}), "POST": frozenset({W})}),
    ("/api/incidents", {"GET": frozenset({AU, AD}), "POST": frozenset({AD})}),
    ("/audit", {"GET": frozenset({AU, AD}), "POST": frozenset({AU, AD})}),
    ("/portal", {"GET": frozenset({AP}), "POST": frozenset({AP})}),  # the enterprise's own applications
    ("/window", {"GET": frozenset({C}), "POST": frozenset({C})}),  # clerks of the window department only
]


def allowed(rule: str, method: str) -> Allowed | None:
    """The roles allowed to call `method` on the URL rule, or None when nothing allows it (refuse)."""
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    methods = RULES.get(rule)
    if methods is None:
        for prefix, prefix_methods in PREFIX_RULES:
            if rule == prefix or rule.startswith(prefix + "/"):
                methods = prefix_methods
                break
    return (methods or {}).get(method)

