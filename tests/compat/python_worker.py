"""Test-only worker: the unmodified PyPI client camunda-external-task-client-python3 against /engine-rest, with a
bearer token. Usage: python python_worker.py BASE_URL TOKEN WORKER_ID TOPIC[,TOPIC…]

compat.work: the start variable `mode` picks complete | fail (the client's Camunda retry rule, 500 ms apart) |
reject (BPMN error REJECTED). permit.score: completes with a score. Runs until killed (the client loops forever).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker


def handle(task: ExternalTask) -> TaskResult:
    if task.get_topic_name() == "permit.score":
        return task.complete({"score": 87})
    mode = task.get_variable("mode")
    if mode == "complete":
        result: dict[str, Any] = {"result": 42, "label": "py", "details": {"ok": True, "by": "py"}}
        return task.complete(result)
    if mode == "fail":
        return task.failure("python says no", "traceback…", max_retries=1, retry_timeout=500)
    return task.bpmn_error("REJECTED", "rejected by python", {"reason": "py-reason"})


def main() -> None:
    base_url, token, worker_id, topics = sys.argv[1:5]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = {"auth_bearer": {"access_token": token}, "maxTasks": 1, "lockDuration": 20000,
              "asyncResponseTimeout": 2000, "sleepSeconds": 1, "retries": 1, "retryTimeout": 500}
    ExternalTaskWorker(worker_id=worker_id, base_url=base_url, config=config).subscribe(topics.split(","), handle)


if __name__ == "__main__":
    main()
