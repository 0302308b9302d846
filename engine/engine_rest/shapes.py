"""Our DTOs in Camunda 7's JSON shapes (the REST reference's DTOs: ProcessDefinitionDto, ProcessInstanceDto,
TaskDto, LockedExternalTaskDto, ExternalTaskDto, DeploymentWithDefinitionsDto). Ids: a definition is
`<key>:<version>:<our id>` (Camunda's own pattern); instances, tasks and jobs keep our UUIDs. Times are
`yyyy-MM-dd'T'HH:mm:ss.SSSZ` in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from engine.dto import DefinitionOut, InstanceOut, TaskOut
from engine.engine_rest.variables import camunda_date
from engine.errors import DefinitionNotFound
from engine.services.camunda_deployments import DeploymentOut
from engine.services.external_task_queries import ExternalTaskOut

FORM_SUFFIX = ".schema.json"


def when(value: str | datetime | None) -> str | None:
    """Our ISO 8601 times (or datetimes) in Camunda's format."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return camunda_date(value)


def definition_id(key: str, version: int, our_id: int) -> str:
    return f"{key}:{version}:{our_id}"


def parse_definition_id(text: str) -> int:
    """Our definition id from `<key>:<version>:<id>` (or a bare id)."""
    tail = text.rsplit(":", 1)[-1]
    if not tail.isdigit():
        raise DefinitionNotFound(f"No matching definition with id {text}")
    return int(tail)


def link(rel: str, path: str, method: str = "GET") -> dict[str, str]:
    return {"method": method, "href": f"{request.host_url.rstrip('/')}/engine-rest{path}", "rel": rel}


def process_definition(d: DefinitionOut, deployment_id: str | None) -> dict[str, Any]:
    return {"id": definition_id(d.key, d.version, d.id), "key": d.key, "category": None, "description": None,
            "name": d.name, "version": d.version, "resource": d.file_name, "deploymentId": deployment_id,
            "diagram": None, "suspended": False, "tenantId": None, "versionTag": None, "historyTimeToLive": None,
            "startableInTasklist": True}


def process_instance(i: InstanceOut, definition_version: int, *, ended: bool | None = None) -> dict[str, Any]:
    return {"links": [link("self", f"/process-instance/{i.id}")], "id": i.id,
            "definitionId": definition_id(i.process_key, definition_version, i.definition_id),
            "definitionKey": i.process_key, "businessKey": i.business_key, "caseInstanceId": None,
            "ended": ended if ended is not None else i.status in ("completed", "terminated"),
            "suspended": i.status == "suspended", "tenantId": None}


def form_key(form: str | None) -> str | None:
    """camunda:formKey="x" became forms/x.schema.json; give Camunda clients back the key they wrote."""
    if form and form.endswith(FORM_SUFFIX):
        return form[: -len(FORM_SUFFIX)]
    return form


def task(t: TaskOut, definition: tuple[str, int, int] | None) -> dict[str, Any]:
    key, version, our_id = definition or (None, None, None)
    return {"id": t.id, "name": t.name, "assignee": t.assignee, "owner": None, "created": when(t.created_at),
            "lastUpdated": None, "due": when(t.due_at), "followUp": None, "delegationState": None,
            "description": None, "executionId": t.instance_id, "parentTaskId": None, "priority": 50,
            "processDefinitionId": definition_id(key, version, our_id) if key else None,
            "processInstanceId": t.instance_id, "caseExecutionId": None, "caseDefinitionId": None,
            "caseInstanceId": None, "taskDefinitionKey": t.bpmn_id, "suspended": False, "formKey": form_key(t.form_key),
            "camundaFormRef": None, "tenantId": None}


def external_task(out: ExternalTaskOut) -> dict[str, Any]:
    """ExternalTaskDto (GET /external-task)."""
    job, facts = out.job, out.facts
    return {"activityId": job.bpmn_id, "activityInstanceId": f"{job.bpmn_id}:{job.id}",
            "errorMessage": job.error_message, "executionId": job.id, "id": job.id,
            "lockExpirationTime": when(job.lock_expires_at) if job.status == "locked" else None,
            "createTime": when(job.created_at),
            "processDefinitionId": definition_id(job.process_key or "", facts.definition_version,
                                                 facts.definition_id),
            "processDefinitionKey": job.process_key, "processDefinitionVersionTag": None,
            "processInstanceId": job.instance_id, "tenantId": None, "retries": job.retries, "suspended": False,
            "workerId": job.lock_owner, "priority": job.priority, "topicName": job.topic,
            "businessKey": job.business_key}


def locked_external_task(out: ExternalTaskOut, variables: dict[str, Any], *, worker: str,
                         extension_properties: bool) -> dict[str, Any]:
    """LockedExternalTaskDto (fetchAndLock)."""
    shaped = external_task(out)
    shaped.pop("suspended")
    shaped.update({"workerId": worker, "errorDetails": out.facts.error_details, "variables": variables})
    if extension_properties:
        shaped["extensionProperties"] = dict(out.facts.extension_properties)
    return shaped


def deployment(d: DeploymentOut) -> dict[str, Any]:
    deployed = {definition_id(o.key, o.version, o.id): process_definition(o, d.id) for o in d.deployed}
    return {"links": [link("self", f"/deployment/{d.id}")], "id": d.id, "name": d.name, "source": d.source,
            "deploymentTime": when(d.deployed_at), "tenantId": None,
            "deployedProcessDefinitions": deployed or None, "deployedCaseDefinitions": None,
            "deployedDecisionDefinitions": None, "deployedDecisionRequirementsDefinitions": None}
