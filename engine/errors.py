"""One exception hierarchy for the whole engine, rendered as RFC 9457 problem details.

Pure Python: no Flask, no SQLAlchemy, no SpiffWorkflow. Each class's docstring is its default title.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class EngineError(Exception):
    """Internal engine error"""

    status: int = 500

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        self.detail = detail or self.title()
        self.extensions = {k: v for k, v in extensions.items() if v is not None}
        super().__init__(self.detail)

    @classmethod
    def title(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    @classmethod
    def slug(cls) -> str:
        return _slug(cls.__name__)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": f"/problems/{self.slug()}",
            "title": self.title(),
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        for key, value in self.extensions.items():
            problem.setdefault(key, value)
        return problem


class NotFound(EngineError):
    """Not found"""

    status = 404


class DefinitionNotFound(NotFound):
    """Process definition not found"""


class InstanceNotFound(NotFound):
    """Process instance not found"""


class TaskNotFound(NotFound):
    """Task not found"""


class JobNotFound(NotFound):
    """Job not found"""


class Conflict(EngineError):
    """Conflict"""

    status = 409


class TaskAlreadyCompleted(Conflict):
    """Task is no longer open"""


class TaskClaimedByOther(Conflict):
    """Task is claimed by someone else"""


class InstanceNotRunning(Conflict):
    """Process instance is not running"""


class JobNotClaimed(Conflict):
    """Job is not locked by this worker"""


class JobNotOpen(Conflict):
    """Job is no longer open"""


class IncidentNotFound(NotFound):
    """Incident not found"""


class IncidentResolved(Conflict):
    """Incident is already resolved"""


class UnknownDeploymentTarget(Conflict):
    """Unknown deployment target"""


class MigrationRefused(Conflict):
    """The instance cannot move to that version"""

    def __init__(self, detail: str | None = None, *, problems: list[str] | None = None, **extensions: Any) -> None:
        super().__init__(detail, problems=list(problems or []), **extensions)
        self.problems = list(problems or [])


class Busy(EngineError):
    """Too many concurrent changes; retry shortly"""

    status = 503

    def __init__(self, detail: str | None = None, retry_after: int = 1, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.retry_after = retry_after


class DatabaseUnavailable(Busy):
    """The database is unavailable; retry shortly"""


class StorageFull(EngineError):
    """The database is full; nothing was changed"""

    status = 507


class InvalidInput(EngineError):
    """Invalid input"""

    status = 422


class TooLarge(EngineError):
    """Too large"""

    status = 413


class InvalidBpmn(InvalidInput):
    """Invalid BPMN"""

    def __init__(
        self,
        detail: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element_id: str | None = None,
        tag: str | None = None,
    ) -> None:
        super().__init__(detail, file=file, line=line, element_id=element_id, tag=tag)
        self.file, self.line, self.element_id, self.tag = file, line, element_id, tag

    def location(self) -> str:
        """`file:line: element` for CLI output."""
        parts = [self.file or "<bpmn>"]
        if self.line:
            parts.append(str(self.line))
        where = ":".join(parts)
        return f"{where}: {self.element_id}" if self.element_id else where


class HostileXml(InvalidBpmn):
    """XML refused for safety"""


class SandboxViolation(InvalidInput):
    """Expression not allowed"""

    def __init__(self, detail: str, *, expression: str | None = None, line: int | None = None) -> None:
        super().__init__(detail, expression=expression, line=line)
        self.expression, self.line = expression, line


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class FormInvalid(InvalidInput):
    """Form data is invalid"""

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "表单数据有误", errors=[asdict(e) for e in errors])
        self.errors = errors


class ProcessFailure(EngineError):
    """Process execution failed"""


class ScriptFailed(ProcessFailure):
    """A script or expression failed while the process ran"""

    def __init__(self, detail: str, *, bpmn_id: str | None = None, line: int | None = None) -> None:
        super().__init__(detail, bpmn_id=bpmn_id, line=line)
        self.bpmn_id, self.line = bpmn_id, line


class Forbidden(EngineError):
    """Not allowed for this role"""

    status = 403


class Unauthenticated(EngineError):
    """Authentication required"""

    status = 401


class UserNotFound(NotFound):
    """User not found"""


class TokenNotFound(NotFound):
    """API token not found"""


class UserExists(Conflict):
    """User already exists"""


class WeakPassword(InvalidInput):
    """Password does not meet the policy"""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems), problems=problems)
        self.problems = problems


class ConfigError(EngineError):
    """Invalid configuration"""


class InvalidSchedule(InvalidInput):
    """Invalid working-day calendar schedule"""

    def __init__(self, detail: str, *, file: str | None = None) -> None:
        super().__init__(detail, file=file)
        self.file = file
