"""Service tasks as external jobs: the task waits in STARTED until a worker reports back (DESIGN.md §3.3, §5).

A topic comes from `spiffworkflow:serviceTaskOperator id="<topic>"` or Camunda's `camunda:type="external"
camunda:topic="<topic>"`. When Spiff runs the task, `_execute` records a `JobRequest` for the command path
(which turns it into a job row) and returns None, so the task stays STARTED. A worker's result completes it
(`complete`); a BPMN error is routed to the error boundary attached to *this* task, or to an enclosing
subprocess's, by `find_error_catcher` — never broadcast to every catcher with the code, as Spiff 3.2 would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.errors import JobNotOpen

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_TOPIC = re.compile(r"^\S{1,200}$")


@dataclass(frozen=True)
class JobRequest:
    """A service task that has just started and needs a job row."""

    spiff_task_id: str
    bpmn_id: str
    topic: str
    payload: dict[str, Any]
    retries: int | None
    priority: int


_REQUESTS: ContextVar[list[JobRequest] | None] = ContextVar("job_requests", default=None)


@contextmanager
def collect_job_requests() -> Iterator[list[JobRequest]]:
    """Collect the requests of every external task that starts inside this block (runtime wraps engine steps)."""
    requests: list[JobRequest] = []
    token = _REQUESTS.set(requests)
    try:
        yield requests
    finally:
        _REQUESTS.reset(token)


class ExternalServiceTask(ServiceTask):
    """A service task run by a worker. `operation_name` is the topic; operator parameters, when given, are the
    job's payload (evaluated in the sandbox), else the task's data is."""

    def __init__(self, wf_spec: Any, name: str, operation_name: str, operation_params: dict[str, Any],
                 result_variable: str | None, retries: int | None = None, retry_backoff_base: int | None = None,
                 priority: int = 0, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, operation_name, operation_params, result_variable, retries=retries,
                         retry_backoff_base=retry_backoff_base, **kwargs)
        # Spiff invents `spiff__<id>_result` when unset; we merge the worker's variables into the data instead.
        self.result_variable = result_variable or None
        self.priority = priority

    @property
    def topic(self) -> str:
        return str(self.operation_name)

    def payload(self, task: SpiffTask) -> dict[str, Any]:
        if self.operation_params:
            return {name: value["value"] for name, value in self.evaluate_params(task).items()}
        return dict(task.data)

    def _execute(self, task: SpiffTask) -> None:
        requests = _REQUESTS.get()
        if requests is None:
            raise RuntimeError("an external task ran outside engine.bpmn.runtime.advance")
        requests.append(JobRequest(str(task.id), self.bpmn_id, self.topic, self.payload(task), self.retries,
                                   self.priority))
        return None  # stay STARTED: the worker's report completes the task


class ExternalServiceTaskParser(SpiffTaskParser):
    """Reads the topic, parameters, result variable, retries and priority of a service task."""

    def create_task(self) -> ExternalServiceTask:
        extensions = self.parse_extensions()
        operator = extensions.get("serviceTaskOperator") or {}
        properties = extensions.get("properties") or {}
        topic = operator.get("name")
        if not topic and self.node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            topic = self.node.get(f"{{{CAMUNDA_NS}}}topic")
        if not topic or not _TOPIC.match(topic):
            raise ValidationException(
                "a service task needs a topic: spiffworkflow:serviceTaskOperator id=\"<domain>.<action>\" or "
                "camunda:type=\"external\" camunda:topic=\"<domain>.<action>\" (no spaces)",
                node=self.node, file_name=self.filename)
        retries = self._int_setting("retries", properties.get("retries", operator.get("retries")))
        priority_text = properties.get("priority", self.node.get(f"{{{CAMUNDA_NS}}}taskPriority"))
        priority = self._int_setting("priority", priority_text, minimum=None)
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            operation_name=topic,
            operation_params=operator.get("parameters") or {},
            result_variable=operator.get("resultVariable") or properties.get("resultVariable"),
            retries=retries,
            retry_backoff_base=operator.get("retryBackoffBase"),
            priority=priority or 0,
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )

    def _int_setting(self, name: str, value: Any, *, minimum: int | None = 0) -> int | None:
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or (minimum is not None and number < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            raise ValidationException(f"service task property {name} must be an integer{bound}, not {value!r}",
                                      node=self.node, file_name=self.filename)
        return number


class ExternalServiceTaskConverter(ServiceTaskConverter):
    def to_dict(self, spec: ExternalServiceTask) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["priority"] = spec.priority
        return dct


# Registered by EngineBpmnParser and the serializer (Spiff's docs/bpmn/custom_task_spec.rst pattern).
EXTERNAL_TASK_PARSER_CLASSES = {full_tag("serviceTask"): (ExternalServiceTaskParser, ExternalServiceTask)}
EXTERNAL_TASK_CONVERTERS = {ExternalServiceTask: ExternalServiceTaskConverter}


def check_open(task: SpiffTask) -> None:
    """Spiff would complete a CANCELLED task if asked: only a STARTED external task takes a worker's report."""
    if not isinstance(task.task_spec, ExternalServiceTask) or task.state != TaskState.STARTED:
        raise JobNotOpen(f"{task.task_spec.bpmn_id} is {TaskState.get_name(task.state)}, not waiting for a worker",
                         state=TaskState.get_name(task.state))


def complete(task: SpiffTask, variables: dict[str, Any]) -> None:
    """The worker's variables go to the result variable if the task names one, else into the task's data."""
    spec = task.task_spec
    assert isinstance(spec, ExternalServiceTask)
    if spec.result_variable:
        task.data[spec.result_variable] = dict(variables)
    else:
        task.data.update(variables)
    task.complete()


def find_error_catcher(task: SpiffTask, code: str) -> SpiffTask | None:
    """The waiting error boundary event that catches `code` for this task: the one attached to the task itself,
    else to the nearest enclosing subprocess. An exact code beats a catch-all (no errorRef / no code)."""
    current: SpiffTask | None = task
    while current is not None:
        split = current.parent
        if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
            candidates = [
                child for child in split.children
                if isinstance(child.task_spec, BoundaryEvent) and child.state == TaskState.WAITING
                and isinstance(child.task_spec.event_definition, ErrorEventDefinition)
                and child.task_spec.event_definition.code in (None, code)
            ]
            exact = [c for c in candidates if c.task_spec.event_definition.code == code]
            if exact or candidates:
                return (exact or candidates)[0]
        parent_id = current.workflow.parent_task_id
        current = current.workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None
    return None


def throw_error(task: SpiffTask, code: str, message: str, variables: dict[str, Any]) -> str | None:
    """Deliver a worker's BPMN error to its catcher only; return the catcher's bpmn id, or None if uncaught.

    The catcher's `spiffworkflow:variableName` (on the bpmn:error) receives {"code", "message"}; the worker's
    variables are set on the error path's data.
    """
    catcher = find_error_catcher(task, code)
    if catcher is None:
        return None
    event = BpmnEvent(catcher.task_spec.event_definition, payload={"code": code, "message": message})
    catcher.task_spec.catch(catcher, event)
    catcher.task_spec._update(catcher)
    catcher.set_data(**variables)
    return str(catcher.task_spec.bpmn_id)
