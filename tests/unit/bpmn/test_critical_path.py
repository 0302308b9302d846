"""The critical-path rules on a small process: the longest branch of a parallel block counts, a back-flow and a
boundary path do not, a clock-pausing task weighs 0, a subprocess is measured inside."""

from __future__ import annotations

import pytest

from engine.bpmn.critical_path import critical_path
from tools.processgen.layout import layout
from tools.processgen.model import Process, Timer
from tools.processgen.writer import to_xml


def _review(c, key: str, days: int, **props: object):  # type: ignore[no-untyped-def]
    return c.user(key, key, candidateGroups="nrp", limit_committed_wd=days, limit_statutory_wd=days + 5, **props)


def _process() -> bytes:
    p = Process("cp", "cp", calendar="workday")
    start, fork, join, end = p.start("start"), p.par("fork"), p.par("join"), p.end("end")
    again = p.xor("again")
    a, b = _review(p, "a", 3), _review(p, "b", 7)
    notice = _review(p, "notice", 30, pauses_clock="public_notice")
    stage = p.sub("stage", "stage")
    inner_start, inner_end = stage.body.start("s_start"), stage.body.end("s_end")
    x = _review(stage.body, "x", 4)
    stage.body.chain(inner_start, x, inner_end)
    decide = p.xor("decide")
    revise = _review(p, "revise", 50)
    timer = p.boundary("late", "late", b, Timer("duration", "P7D"), interrupting=True)
    detour = _review(p, "detour", 90)
    p.chain(start, again, fork)
    p.chain(fork, a, join)
    p.chain(fork, b, join)
    p.chain(timer, detour, join)  # a boundary path (deemed approval): not the normal path
    p.chain(join, notice, stage, decide)
    p.flow(decide, end, condition="ok", default=True)
    p.flow(decide, revise, condition="not ok")
    p.flow(revise, again, back=True)  # a back-flow
    return to_xml(p, layout(p), exporter="test")


def test_longest_branch_no_backflow_no_boundary_pause_weighs_zero() -> None:
    path = critical_path(_process(), to="end")
    assert path.days == 7 + 4
    assert path.steps == (("b", 7), ("x", 4))


def test_a_subprocess_measured_from_inside_and_to_an_inner_element() -> None:
    xml = _process()
    assert critical_path(xml, start="stage", to="stage").days == 4
    assert critical_path(xml, to="b").days == 7


def test_unknown_or_unreachable_targets_are_errors() -> None:
    with pytest.raises(ValueError, match="no element"):
        critical_path(_process(), to="nope")
    with pytest.raises(ValueError, match="cannot be reached"):
        critical_path(_process(), start="stage", to="start")
