"""Spiff's task ids from batches of random bytes (engine/bpmn/task_ids.py): the ids stock `uuid4()` gives."""

from __future__ import annotations

import os
import uuid

import SpiffWorkflow.task as spiff_task_module

from engine.bpmn import runtime, task_ids
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_join import _fan_out
from tests.unit.bpmn.test_fast_scan import T0


def test_installed_for_spiff_tasks() -> None:
    assert spiff_task_module.uuid4 is task_ids.new_id
    workflow = runtime.new_workflow(load_process(_fan_out(3), file="wide.bpmn"), {}, T0)
    runtime.advance(workflow, T0)
    assert all(type(task_id) is uuid.UUID and task_id.version == 4 for task_id in workflow.tasks)


def test_the_kind_of_id_stock_gives() -> None:
    ids = [task_ids.new_id() for _ in range(3 * task_ids.BATCH + 7)]  # across refills
    stock = uuid.uuid4()
    for uid in ids:
        assert type(uid) is uuid.UUID
        assert (uid.version, uid.variant, uid.is_safe) == (stock.version, stock.variant, stock.is_safe)
        again = uuid.UUID(str(uid))
        assert again == uid and hash(again) == hash(uid) and again.int == uid.int
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
