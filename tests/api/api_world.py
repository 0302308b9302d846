"""A small world of data built through the JSON API itself, for tests that walk every operation.

One account holds every role (the role rules have their own test, tests/auth/test_role_routes.py), so each
operation can succeed; a colleague clerk receives transfers. Through the API: the sample process is deployed,
instance `open` waits in its three reviews, `incident` has a failed permit job, `jobs` waits for two workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from tests.conftest import ROOT

ALL_ROLES = ("designer", "clerk", "leader", "auditor", "admin", "applicant", "worker")
DEPARTMENTS = ("window", "nrp", "hc")
APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求，同意。"}}
TOPICS = [{"topicName": "permit.issue", "lockDuration": 60_000}]
SAMPLE = ROOT / "processes" / "sample_review.bpmn"

# (method, path, **kwargs) -> (status, JSON body or None)
Call = Callable[..., tuple[int, Any]]


@dataclass
class ApiWorld:
    call: Call
    user: str = "omni"
    definition_id: int = 0
    open_instance: str = ""
    approved: list[str] = field(default_factory=list)
    incident_id: str = ""
    tasks: list[str] = field(default_factory=list)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, body = self.call(method, path, **kwargs)
        assert 200 <= status < 300, (method, path, status, body)
        return body


def upload(path: Any = SAMPLE) -> dict[str, Any]:
    return {"data": {"file": (BytesIO(path.read_bytes()), path.name)}, "content_type": "multipart/form-data"}


def approve_all(world: ApiWorld, instance_id: str) -> None:
    for task in world.ok("GET", f"/api/tasks?processInstanceId={instance_id}")["items"]:
        world.ok("POST", f"/api/tasks/{task['id']}/complete", json=APPROVE)


def build(call: Call) -> ApiWorld:
    world = ApiWorld(call)
    world.definition_id = world.ok("POST", "/api/process-definitions", **upload())["id"]
    start = "/api/process-definitions/key/sample_review/start"
    world.open_instance = world.ok("POST", start, json={"variables": {"project": "开放审查"},
                                                         "businessKey": "OPEN-1"})["id"]
    world.tasks = [t["id"] for t in world.ok("GET", f"/api/tasks?processInstanceId={world.open_instance}")["items"]]
    incident_instance = world.ok("POST", start, json={"variables": {"project": "证照超时"}})["id"]
    approve_all(world, incident_instance)
    [job] = world.ok("POST", "/api/external-tasks/fetch-and-lock",
                     json={"workerId": "bot", "maxTasks": 1, "topics": TOPICS})["items"]
    world.ok("POST", f"/api/external-tasks/{job['id']}/failure",
             json={"workerId": "bot", "errorMessage": "证照系统超时", "retries": 0})
    world.incident_id = world.ok("GET", "/api/incidents")["items"][0]["id"]
    for n in range(2):
        instance_id = world.ok("POST", start, json={"variables": {"project": f"待发证{n}"}})["id"]
        approve_all(world, instance_id)
        world.approved.append(instance_id)
    return world
