"""Where a worker's BPMN error goes, pinned on SpiffWorkflow 3.2 (DESIGN.md §3.3, STYLE.md §5).

tests/data/bpmn/error_routing.bpmn starts five service tasks on one topic. Spiff itself delivers an error event
to every waiting catcher whose code matches (first test: a library fact we depend on not using). The engine
routes a job's error to the boundary attached to that job's task, else to the nearest enclosing subprocess's;
a catch-all boundary catches any code; nothing catching it opens an incident and the process waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import runtime
from engine.bpmn.parsing import load_process
from engine.dto import DefinitionOut
from engine.models import Incident, ServiceJob
from engine.sdk import BpmnError, JobContext, TaskRouter
from engine.services import execution, history, incidents, instances
from engine.services.commands import run_command
from tests.conftest import DATA, engine_state

BPMN = DATA / "bpmn" / "error_routing.bpmn"


def _router(errors: dict[str, str]) -> TaskRouter:
    router = TaskRouter()

    @router.task("check.applicant")
    def check(ctx: JobContext) -> dict[str, Any]:
        if ctx.bpmn_id in errors:
            raise BpmnError(errors[ctx.bpmn_id], f"{ctx.bpmn_id} refused", {f"{ctx.bpmn_id}_refused": True})
        return {f"{ctx.bpmn_id}_checked": True}

    return router


def _start(app: Flask) -> str:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "error_routing", {}, actor="clerk", now=state.clock.now())).id


def _events(app: Flask, instance_id: str) -> list[Any]:
    with engine_state(app).sessions() as session:
        return list(history.list_events(session, instance_id))


def test_stock_spiff_broadcasts_an_error_to_every_matching_catcher(app: Flask) -> None:
    """The library behaviour the engine works around: one thrown code fires a, b, the catch-all c and d's scope."""
    parsed = load_process(BPMN.read_bytes(), file=BPMN.name)
    workflow = runtime.new_workflow(parsed, {}, engine_state(app).clock.now())
    runtime.advance(workflow, engine_state(app).clock.now())
    workflow.catch(BpmnEvent(ErrorEventDefinition("Blacklisted", code="blacklisted"), payload={}))
    fired = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)}
    assert fired == {"catch_a", "catch_b", "catch_c_any", "catch_d_scope"}


def test_each_error_goes_to_its_own_tasks_boundary_or_scope_else_an_incident(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    deploy(BPMN)
    instance_id = _start(app)
    errors = {"svc_a": "blacklisted", "svc_c": "blacklisted", "svc_d": "blacklisted", "svc_e": "blacklisted"}
    assert run_jobs(_router(errors)) == 5

    events = _events(app, instance_id)
    caught = {e.payload["bpmn_id"]: e.payload["caught_by"] for e in events if e.kind == "job:bpmn_error"}
    assert caught == {"svc_a": "catch_a", "svc_c": "catch_c_any", "svc_d": "catch_d_scope", "svc_e": None}
    reached = {el for e in events if e.kind == "instance:advanced" for el in e.payload["elements"]}
    assert {"end_a_error", "end_b", "end_c_error", "end_d_error"} <= reached
    assert not {"end_a", "end_b_error", "end_c", "end_d", "end_e", "end_e_error", "catch_b"} & reached

    state = engine_state(app)
    with state.sessions() as session:
        jobs = {j.bpmn_id: j.status for j in session.scalars(select(ServiceJob))}
        assert jobs == {"svc_a": "bpmn_error", "svc_b": "completed", "svc_c": "bpmn_error", "svc_d": "bpmn_error",
                        "svc_e": "incident"}
        [incident] = session.scalars(select(Incident)).all()
        assert (incident.kind, incident.bpmn_id, incident.status) == ("unhandled_bpmn_error", "svc_e", "open")
        assert "blacklisted" in incident.message
        assert instances.get_instance(session, instance_id).status == "running"
    assert [e.payload["kind"] for e in events if e.kind == "instance:incident"] == ["unhandled_bpmn_error"]

    # The admin retries; this time the handler answers and the process finishes through svc_e's normal end.
    run_command(state.sessions, lambda s: incidents.retry(s, state.ctx, incident.id, actor="admin",
                                                          now=state.clock.now()))
    assert run_jobs(_router({})) == 1
    with state.sessions() as session:
        described = instances.describe(session, state.ctx, instance_id)
    assert described.status == "completed"
    variables = described.variables
    # The catcher's spiffworkflow:variableName gets {code, message}; parallel paths merge, the last one wins.
    assert variables["error_info"]["code"] == "blacklisted"
    assert variables["error_info"]["message"] in {"svc_a refused", "svc_d refused"}
    assert variables["svc_a_refused"] is True and variables["svc_b_checked"] is True
    assert variables["svc_e_checked"] is True
    reached = {el for e in _events(app, instance_id) if e.kind == "instance:advanced" for el in e.payload["elements"]}
    assert "end_e" in reached and "end_e_error" not in reached


def test_an_uncaught_error_leaves_its_task_waiting(app: Flask, deploy: Callable[..., DefinitionOut],
                                                  run_jobs: Callable[..., int]) -> None:
    deploy(BPMN)
    instance_id = _start(app)
    state = engine_state(app)
    assert run_jobs(_router({"svc_e": "not_modelled"})) == 5
    with state.sessions() as session:
        e_job = session.scalars(select(ServiceJob).where(ServiceJob.bpmn_id == "svc_e")).one()
        assert e_job.status == "incident"
        assert e_job.error_message == "BPMN error not_modelled: svc_e refused"
        loaded = execution.load(session, state.ctx, instances.get_instance(session, instance_id))
        assert runtime.task_state(loaded.workflow, e_job.spiff_task_id) == "STARTED"
        assert loaded.instance.status == "running"
