"""Spiff's task ids from batches of random bytes (engine/bpmn/task_ids.py): the ids stock `uuid4()` gives."""

from __future__ import annotations

import copy
import json
import os
import pickle
import uuid

import pytest
import SpiffWorkflow.task as spiff_task_module

from engine.bpmn import runtime, serialization, task_ids
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_join import _fan_out
from tests.unit.bpmn.test_fast_scan import T0


def test_installed_for_spiff_tasks() -> None:
    assert spiff_task_module.uuid4 is task_ids.new_id
    workflow = runtime.new_workflow(load_process(_fan_out(3), file="wide.bpmn"), {}, T0)
    runtime.advance(workflow, T0)
    assert all(type(task_id) is task_ids.TaskId and task_id.version == 4 for task_id in workflow.tasks)


def test_the_kind_of_id_stock_gives() -> None:
    ids = [task_ids.new_id() for _ in range(3 * task_ids.BATCH + 7)]  # across refills
    stock = uuid.uuid4()
    for uid in ids:
        assert isinstance(uid, uuid.UUID)
        assert (uid.version, uid.variant, uid.is_safe) == (stock.version, stock.variant, stock.is_safe)
        again = uuid.UUID(str(uid))
        assert again == uid and hash(again) == hash(uid) and again.int == uid.int
        # The kept text is the one UUID formats from the value.
        assert str(uid) == uuid.UUID.__str__(uid) == f"{uid}" and repr(uid) == repr(again)
    assert len(set(ids)) == len(ids)
    # Random bits everywhere but the six fixed ones: each of the 122 free bits is set in some id and clear in another.
    free = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
    ored, anded = 0, (1 << 128) - 1
    for uid in ids:
        ored |= uid.int
        anded &= uid.int
    assert ored & free == free and anded & free == 0


def test_a_forked_child_does_not_hand_out_its_parent_s_ids() -> None:
    task_ids.new_id()  # the parent holds a batch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, then exit without running pytest's teardown
        try:
            os.write(write, "".join(task_ids.new_id().hex for _ in range(8)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    child = {text[i:i + 32] for i in range(0, len(text), 32)}
    parent = {task_ids.new_id().hex for _ in range(task_ids.BATCH)}
    assert len(child) == 8 and not child & parent


def test_a_task_id_is_a_plain_uuid_wherever_it_goes() -> None:
    uid = task_ids.new_id()
    assert type(uid) is task_ids.TaskId
    for copied in (copy.copy(uid), copy.deepcopy(uid), pickle.loads(pickle.dumps(uid))):
        assert type(copied) is uuid.UUID and copied == uid and str(copied) == str(uid)
    assert sorted([uid, uuid.UUID(int=0)]) == [uuid.UUID(int=0), uid] and {uid: 1}[uuid.UUID(str(uid))] == 1
    with pytest.raises(TypeError):
        uid.int = 0  # immutable, as a UUID


def test_a_task_id_in_data_is_saved_and_restored_as_a_uuid() -> None:
    """Task ids are ours, data is a script's: one that keeps a task id gets the text a UUID gets, and a UUID back."""
    workflow = runtime.new_workflow(load_process(_fan_out(3), file="wide.bpmn"), {}, T0)
    runtime.advance(workflow, T0)
    task_id = next(iter(workflow.tasks))
    workflow.data["kept"] = task_id
    plain = runtime.new_workflow(load_process(_fan_out(3), file="wide.bpmn"), {}, T0)
    plain.data["kept"] = uuid.UUID(str(task_id))
    text = serialization.dump_workflow(workflow)
    assert json.loads(text)["data"]["kept"] == json.loads(serialization.dump_workflow(plain))["data"]["kept"] == {
        "value": str(task_id), "typename": "UUID"}
    assert json.loads(serialization.full_dump(workflow))["data"]["kept"]["typename"] == "UUID"
    loaded = serialization.load_workflow(text, workflow.spec, workflow.subprocess_specs)
    assert type(loaded.data["kept"]) is uuid.UUID and loaded.data["kept"] == task_id
    assert all(type(tid) is uuid.UUID for tid in loaded.tasks)  # ids loaded from JSON are plain UUIDs
    assert serialization.dump_workflow(loaded) == text
