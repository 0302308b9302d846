"""SQL-injection strings in every filter and query parameter of every list route (DESIGN.md §3.6): the /api
routes as the OpenAPI document lists them, the /engine-rest list routes and the pages' search boxes. Each string
is either refused as invalid input (a typed or enumerated parameter: 422) or taken literally: the answer is the
same as for a harmless value that matches nothing (no rows leak, a LIKE wildcard matches only itself), never a
500, never a database error in the body, and the database is unchanged afterwards. `make test` sends eight
strings to every parameter; `make test-long` all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.dto import DefinitionOut
from tests.conftest import TEST_PASSWORD, Auth
from tests.reliability.hostile import ALL_ROLES, Tally, unchanged

# "HH_A" is a LIKE probe: taken literally it matches nothing, as an unescaped pattern it matches business key HH-A.
QUICK = ["' OR '1'='1", "1; DROP TABLE process_instances; --", "x' UNION SELECT username, password_hash FROM users --",
         "%", "HH_A", "\\", "\x00", "'; SELECT pg_sleep(5); --"]
MORE = ["' OR 1=1 --", '" OR ""="', "') OR ('a'='a", "%' OR '%'='", "' AND 1=(SELECT COUNT(*) FROM users) --",
        "$$; DROP TABLE users; $$", "' || (SELECT hash FROM instance_events LIMIT 1) || '", "1 OR 1=1", "-1",
        "99999999999999999999999999", "ＯＲ　１＝１", "[]", "{}", "null", "true", "%00", "\u202e' OR 1=1",
        "a" * 5000, "'" * 100, "/**/OR/**/1=1", "admin'--", "1e309"]
HARMLESS = "zz-no-such-value"
DB_ERRORS = re.compile(r"sqlite3|psycopg|sqlalchemy|syntax error|OperationalError|ProgrammingError|Traceback",
                       re.IGNORECASE)

# Camunda's list routes and their filters (engine/engine_rest), which the OpenAPI document does not cover.
ENGINE_REST: dict[str, list[str]] = {
    "/engine-rest/task": ["candidateGroup", "assignee", "processInstanceId", "taskDefinitionKey", "name",
                          "processDefinitionKey", "unassigned", "assigned", "firstResult", "maxResults"],
    "/engine-rest/task/count": ["candidateGroup", "assignee", "processInstanceId", "taskDefinitionKey"],
    "/engine-rest/process-definition": ["key", "latestVersion", "name", "resourceName", "version",
                                        "processDefinitionId", "deploymentId", "firstResult", "maxResults"],
    "/engine-rest/process-definition/count": ["key", "latestVersion"],
    "/engine-rest/deployment": ["name", "firstResult", "maxResults"],
    "/engine-rest/deployment/count": ["name"],
    "/engine-rest/external-task": ["externalTaskId", "topicName", "workerId", "processInstanceId", "activityId",
                                   "locked", "notLocked", "withRetriesLeft", "noRetriesLeft", "firstResult",
                                   "maxResults"],
    "/engine-rest/external-task/count": ["topicName", "workerId", "processInstanceId", "activityId"],
}
PAGES: dict[str, list[str]] = {
    "/inbox": ["view", "department", "q", "light", "sort"],
    "/projects": ["q", "status"],
    "/audit": ["q"],
    "/audit/reports/caps": ["key"],
}


@pytest.fixture(params=["quick", pytest.param("all", marks=pytest.mark.slow)])
def strings(request: pytest.FixtureRequest) -> list[str]:
    return QUICK if request.param == "quick" else QUICK + MORE


@pytest.fixture
def world(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]
          ) -> dict[str, Any]:
    """Some of everything to leak: two projects, a completed task, a finished job, users and tokens."""
    deploy("sample_review")
    headers = auth.headers("inspector", *ALL_ROLES, departments=["nrp", "hc", "window"])
    client = app.test_client()
    ids = [client.post("/api/process-definitions/key/sample_review/start", headers=headers,
                       json={"variables": {"project": f"项目{i}"}, "businessKey": f"HH-{i}"}).get_json()["id"]
           for i in ("A", "B")]
    for task in client.get(f"/api/tasks?processInstanceId={ids[0]}", headers=headers).get_json()["items"]:
        client.post(f"/api/tasks/{task['id']}/complete", headers=headers,
                    json={"variables": {"decision": "approve", "opinion": "同意"}})
    run_jobs()
    return {"headers": headers, "instance_id": ids[1]}


def _operations(client: FlaskClient) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    document = client.get("/api/openapi.json").get_json()
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is not None:
            yield path, [p for p in get.get("parameters", []) if p.get("in") in ("query", "path")]


def _fill(path: str, params: list[dict[str, Any]], world: dict[str, Any], injected: str | None = None,
          value: str = "") -> str:
    """The path with real ids, except the injected path parameter."""
    real = {"instance_id": world["instance_id"], "definition_id": "1", "key": "sample_review"}
    for p in params:
        if p["in"] == "path":
            text = value if p["name"] == injected else real.get(p["name"], HARMLESS)
            path = path.replace("{" + p["name"] + "}", _quote(text))
    return path


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _same_answer(injected: TestResponse, harmless: TestResponse) -> bool:
    if injected.status_code != harmless.status_code:
        return False
    if injected.mimetype != "application/json":
        return True
    a, b = injected.get_json(), harmless.get_json()
    if isinstance(a, dict) and isinstance(b, dict):
        a = {k: v for k, v in a.items() if k != "request_id"}
        b = {k: v for k, v in b.items() if k != "request_id"}
    return bool(a == b)


def _check(tally: Tally, what: str, injected: TestResponse, harmless: TestResponse, *, api: bool = True) -> None:
    text = injected.get_data(as_text=True)
    assert injected.status_code < 500, (what, injected.status_code, text[:300])
    assert not DB_ERRORS.search(text), (what, text[:300])
    if 400 <= injected.status_code < 500 and api:
        assert injected.mimetype == "application/problem+json", what
    elif injected.status_code == 200 and harmless.status_code == 200:  # else a typed parameter: "true", "-1"
        assert _same_answer(injected, harmless), (what, text[:300], harmless.get_data(as_text=True)[:300])
    tally.count(what.split(" ", 1)[0])


def test_injection_strings_in_every_api_filter_are_refused_or_taken_literally(
        app: Flask, client: FlaskClient, world: dict[str, Any], strings: list[str]) -> None:
    headers = world["headers"]
    tally = Tally(f"sql-injection-api-{app.extensions['engine'].db_engine.dialect.name}-{len(strings)}")
    with unchanged(app):
        for path, params in _operations(client):
            for param in params:
                for text in strings:
                    if param["in"] == "query":
                        url = _fill(path, params, world)
                        injected = client.get(url, query_string={param["name"]: text}, headers=headers)
                        harmless = client.get(url, query_string={param["name"]: HARMLESS}, headers=headers)
                    else:
                        injected = client.get(_fill(path, params, world, param["name"], text), headers=headers)
                        harmless = client.get(_fill(path, params, world, param["name"], HARMLESS), headers=headers)
                    _check(tally, f"api {path} {param['name']}={text[:30]!r}", injected, harmless)
        for path, names in ENGINE_REST.items():
            for name in names:
                for text in strings:
                    injected = client.get(path, query_string={name: text}, headers=headers)
                    harmless = client.get(path, query_string={name: HARMLESS}, headers=headers)
                    _check(tally, f"engine-rest {path} {name}={text[:30]!r}", injected, harmless, api=False)
    tally.write()


def test_injection_strings_in_every_page_search_are_taken_literally(
        app: Flask, world: dict[str, Any], strings: list[str]) -> None:
    from tests.web.support import login

    client = app.test_client()
    assert login(client, "inspector", TEST_PASSWORD) in (302, 303)
    tally = Tally(f"sql-injection-pages-{app.extensions['engine'].db_engine.dialect.name}-{len(strings)}")
    with unchanged(app):
        for path, names in PAGES.items():
            for name in names:
                for text in strings:
                    injected = client.get(path, query_string={name: text})
                    harmless = client.get(path, query_string={name: HARMLESS})
                    _check(tally, f"page {path} {name}={text[:30]!r}", injected, harmless, api=False)
                    if injected.status_code == 200:  # the same rows: every project link on the page
                        assert _links(injected) == _links(harmless), (path, name, text)
    tally.write()


def _links(response: TestResponse) -> list[str]:
    return sorted(set(re.findall(r'href="(/(?:projects|tasks|audit/instances)/[0-9a-f-]{36})"',
                                 response.get_data(as_text=True))))
