"""Service-task handlers by topic. Only the runner (`approvals serve`, `approvals worker`) imports this package.

Every router is listed here explicitly: no discovery.
"""

from workers import applications, catalog, certificates, credit, enforcement, notices, permits, reviews

ROUTERS = [
    permits.router,
    # the Hohhot approval processes (processes/commercial_project.bpmn, government_investment_project.bpmn)
    applications.router,
    credit.router,
    catalog.router,
    reviews.router,
    notices.router,
    certificates.router,
    enforcement.router,
]
