"""What worker modules import (and nothing else from the engine): STYLE.md §5.

```python
from engine.sdk import BpmnError, JobContext, RetryPolicy, TaskRouter

router = TaskRouter()

@router.task("permit.issue", retry=RetryPolicy(retries=5, initial_delay=timedelta(seconds=30)))
def issue(project: str, ctx: JobContext) -> dict[str, object]:
    ...
    return {"permit_no": ...}
```

`WorkerRunner(settings, ROUTERS).run()` serves them: in process through the services, or with `url=` over HTTP
(`approvals worker --url URL --topics permit.*`).
"""

from engine.worker.backends import FetchedJob, HttpBackend, LocalBackend
from engine.worker.router import (
    BpmnError,
    DuplicateTopic,
    Handler,
    HandlerInputError,
    JobContext,
    RetryPolicy,
    TaskRouter,
)
from engine.worker.runner import WorkerRunner

__all__ = [
    "BpmnError",
    "DuplicateTopic",
    "FetchedJob",
    "Handler",
    "HandlerInputError",
    "HttpBackend",
    "JobContext",
    "LocalBackend",
    "RetryPolicy",
    "TaskRouter",
    "WorkerRunner",
]
