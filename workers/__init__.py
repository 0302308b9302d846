"""Service-task handlers by topic. Only the runner (`approvals serve`, `approvals worker`) imports this package.

Every router is listed here explicitly: no discovery.
"""

from workers import permits

ROUTERS = [permits.router]
