"""/api/openapi.json: a valid OpenAPI 3.1 document that describes every API route, and every response matches it.

`test_every_operation_answers_as_documented` walks every operation of the document with real data (a call per
operation, in an order where each can succeed) and validates each response against the document with openapi-core;
an operation without a call here fails the test, so a new route cannot go undocumented or untested.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate as validate_spec

from tests.api import api_world
from tests.api.api_world import SAMPLE, TOPICS, ApiWorld
from tests.conftest import Auth, engine_state

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture
def checked(app: Flask, auth: Auth, spec: dict[str, Any]) -> Iterator[tuple[ApiWorld, list[tuple[str, str, int]]]]:
    """An ApiWorld whose every response is validated against the document; yields it with the calls made
    (method, OpenAPI path, status)."""
    auth.user("colleague", "clerk", departments=("nrp", "hc"))
    headers = auth.headers("omni", *api_world.ALL_ROLES, departments=api_world.DEPARTMENTS)
    # openapi-core reads problem+json as bytes and parses XML into elements; the document says JSON and bytes.
    openapi = OpenAPI.from_dict(spec, config=Config(extra_media_type_deserializers={
        "application/problem+json": lambda data, **_: json.loads(data),
        "application/xml": lambda data, **_: data}))
    made: list[tuple[str, str, int]] = []

    def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = app.test_client().open(path, method=method, headers=headers, **kwargs)
        result = openapi.unmarshal_response(_RequestSeen(response.request), WerkzeugOpenAPIResponse(response))
        assert not result.errors, (method, path, response.status_code, [repr(e.__cause__ or e) for e in result.errors],
                                   response.get_data(as_text=True)[:500])
        made.append((method, _template(spec, path.split("?")[0]), response.status_code))
        body = response.get_json(silent=True)
        return response.status_code, body

    yield api_world.build(call), made


class _RequestSeen(WerkzeugOpenAPIRequest):
    """The request as openapi-core needs it to find the operation; its body was read by the app already."""

    @property
    def body(self) -> bytes | None:
        return None


def _template(spec: dict[str, Any], path: str) -> str:
    """The document's path template that `path` instantiates."""
    import re

    for template in spec["paths"]:
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            return template
    raise AssertionError(f"{path} is not in the document")


def _operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops if method in METHODS}


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate_spec(spec)
    assert spec["openapi"] == "3.1.0"
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            assert operation.get("summary"), (method, path)
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)


def test_schemas_use_json_schema_keywords_only(spec: dict[str, Any]) -> None:
    """pydantic writes `ge`/`le` instead of minimum/maximum in some nestings: nothing checks those."""
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            assert not {"ge", "le", "gt", "lt"} & {k for k, v in node.items() if not isinstance(v, dict)}, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(spec, "#")


def test_every_api_route_is_in_the_document(app: Flask, spec: dict[str, Any]) -> None:
    documented = _operations(spec)
    routes = {(method, _template(spec, rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")))
              for rule in app.url_map.iter_rules()
              if (rule.rule.startswith("/api/") or rule.rule == "/metrics") and rule.rule != "/api/openapi.json"
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert routes == documented


def _changed_sample() -> bytes:
    return SAMPLE.read_bytes().replace('name="受理"'.encode(), 'name="受理（修订）"'.encode(), 1)


def _walk(world: ApiWorld) -> None:
    """One successful call of every operation, in an order where each can succeed."""
    ok, key, definition = world.ok, "sample_review", f"/api/process-definitions/{world.definition_id}"
    instance, tasks = world.open_instance, world.tasks
    ok("GET", "/api/health")
    ok("GET", "/metrics")
    ok("GET", f"/api/process-definitions?key={key}&latest=true")
    ok("GET", definition)
    ok("GET", f"{definition}/xml")
    ok("GET", f"{definition}/diagram.svg")
    ok("POST", "/api/process-definitions", **api_world.upload())  # unchanged: 200
    from io import BytesIO

    ok("POST", "/api/process-definitions", data={"file": (BytesIO(_changed_sample()), "sample_review.bpmn")},
       content_type="multipart/form-data")  # version 2: 201
    ok("GET", f"/api/process-definitions/key/{key}/versions")
    ok("GET", f"/api/process-definitions/key/{key}/diff?from=1&to=2")
    ok("POST", f"/api/process-definitions/key/{key}/migrate", json={"from": 1, "to": 2, "dryRun": True})
    ok("POST", f"/api/process-instances/{instance}/migrate", json={"to": 2, "dryRun": True})
    ok("POST", f"/api/process-definitions/key/{key}/start", json={"variables": {"project": "新项目"}})
    ok("GET", "/api/process-instances?limit=10&status=running")
    ok("GET", f"/api/process-instances/{instance}")
    ok("GET", f"/api/process-instances/{instance}/diagram.svg?until=2")
    ok("GET", f"/api/process-instances/{instance}/replay?verify=true")
    ok("GET", f"/api/history/process-instances/{instance}/events?afterSeq=0&limit=5")
    ok("GET", f"/api/tasks?processInstanceId={instance}&limit=10")
    ok("GET", f"/api/tasks/{tasks[0]}")
    ok("POST", f"/api/tasks/{tasks[0]}/claim", json={})
    ok("POST", f"/api/tasks/{tasks[0]}/unclaim")
    ok("POST", f"/api/tasks/{tasks[1]}/transfer", json={"assignee": "colleague", "reason": "休假"})
    ok("POST", f"/api/tasks/{tasks[2]}/complete", json=api_world.APPROVE)

    locked = ok("POST", "/api/external-tasks/fetch-and-lock",
                json={"workerId": "bot", "maxTasks": 5, "topics": TOPICS})["items"]
    assert len(locked) == 2
    first, second = (job["id"] for job in locked)
    ok("GET", "/api/external-tasks?status=locked")
    ok("GET", f"/api/external-tasks/{first}")
    ok("POST", f"/api/external-tasks/{first}/extend-lock", json={"workerId": "bot", "newDuration": 120_000})
    ok("POST", f"/api/external-tasks/{first}/failure",
       json={"workerId": "bot", "errorMessage": "超时", "errorDetails": None, "retries": 2, "retryTimeout": 0})
    ok("POST", f"/api/external-tasks/{second}/complete", json={"workerId": "bot", "variables": {"permit_no": "1"}})
    [again] = ok("POST", "/api/external-tasks/fetch-and-lock",
                 json={"workerId": "bot", "topics": TOPICS, "asyncResponseTimeout": 0})["items"]
    ok("POST", f"/api/external-tasks/{again['id']}/bpmn-error",
       json={"workerId": "bot", "errorCode": "blacklisted", "errorMessage": "失信"})

    ok("GET", "/api/incidents?status=all")
    ok("GET", f"/api/incidents/{world.incident_id}")
    ok("POST", f"/api/incidents/{world.incident_id}/retry", json={"retries": 1})

    ok("GET", "/api/reports/accountability")
    ok("GET", "/api/reports/accountability?format=csv")
    ok("GET", f"/api/reports/caps?key={key}")
    ok("GET", "/api/reports/caps?format=csv")
    ok("GET", f"/api/reports/gantt/{instance}.svg")
    ok("GET", "/api/audit/verify")

    ok("POST", f"/api/process-instances/{instance}/suspend", json={"reason": "核查"})
    ok("POST", f"/api/process-instances/{instance}/resume", json={"reason": "核查完毕"})
    ok("POST", f"/api/process-instances/{instance}/migrate", json={"to": 2, "from": 1})
    ok("POST", f"/api/process-instances/{instance}/terminate", json={"reason": "申请人撤回"})


def _walk_bureau(world: ApiWorld, app: Flask, deploy: Callable[..., Any]) -> None:
    """The bureau's operations: a profile, an application, the enforcement feed and a deemed approval's duty."""
    from engine.bureau.deps import BureauDeps
    from engine.bureau.notices import MemorySender
    from tests.bureau.support import credit_code, profile

    deploy("commercial_project")
    state = engine_state(app)
    deps = BureauDeps(state.sessions, state.ctx, state.clock, sender=MemorySender())
    permit = deps.issue_permit(job_id="j1", permit_type="construction", title="建筑工程施工许可证", instance_id="",
                               credit_code=credit_code(41), project_code="P", project_name="N", by_commitment=False)
    deps.share(job_id="j2", action="issued", permit=permit, instance_id="")
    owed = deps.record_deemed(job_id="j3", kind="deemed_approval", instance_id="", project_code="P",
                              subject="review_land", subject_name="用地审查", department="nrp", matter="NR-01",
                              limit_wd=10)
    code = credit_code(42)
    world.ok("POST", "/api/applicants", json=profile(code))
    world.ok("GET", f"/api/applicants/{code}")
    world.ok("POST", "/api/applications/commercial_project",
             json={"credit_code": code, "project_name": "赛罕区示范项目", "materials": ["CK-01-M1"],
                   "channel": "online"})
    world.ok("GET", "/api/enforcement-feed?after=0&limit=10")
    world.ok("GET", "/api/obligations?department=nrp")
    world.ok("POST", f"/api/obligations/{owed['obligation_id']}/fulfil", json={"document_no": "呼自然审〔2026〕1号"})


def test_every_operation_answers_as_documented(checked: tuple[ApiWorld, list[tuple[str, str, int]]],
                                               spec: dict[str, Any], app: Flask,
                                               deploy: Callable[..., Any]) -> None:
    world, made = checked
    _walk(world)
    _walk_bureau(world, app, deploy)
    succeeded = {(method, path) for method, path, status in made if 200 <= status < 300}
    assert _operations(spec) - succeeded == set(), "operations without a successful call in _walk"



def test_errors_answer_as_documented(checked: tuple[ApiWorld, list[tuple[str, str, int]]],
                                     spec: dict[str, Any]) -> None:
    """Unknown ids, invalid bodies and queries, malformed JSON: each a documented problem (validated above)."""
    world, made = checked
    call = world.call
    for path, ops in spec["paths"].items():
        concrete = path.replace("{definition_id}", "999999").replace("{key}", "no_such_key")
        concrete = concrete.replace("{", "").replace("}", "-unknown")
        for method, operation in ops.items():
            if "{" in path:
                body = {"json": {}} if "requestBody" in operation else {}
                status, _ = call(method.upper(), concrete, **body)
                assert status in (404, 422), (method, path, status)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                status, problem = call(method.upper(), concrete, json=["not", "an", "object"])
                assert status == 422 and problem["errors"], (method, path, status, problem)
                status, problem = call(method.upper(), concrete, data=b"{not json", content_type="application/json")
                assert status == 400 and problem["type"] == "/problems/bad-request", (method, path, status)
            if any(p["in"] == "query" and p["schema"].get("type") == "integer" for p in operation["parameters"]):
                name = next(p["name"] for p in operation["parameters"]
                            if p["in"] == "query" and p["schema"].get("type") == "integer")
                status, problem = call(method.upper(), f"{concrete}?{name}=-1")
                assert status == 422 and problem["errors"][0]["location"] == "query", (method, path, problem)
    assert {status for _m, _p, status in made} >= {400, 404, 422}
