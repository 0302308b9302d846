"""The critical path computed from the deployed BPMN (DESIGN.md §6) is exactly the reform's 67 and 96 working
days, each stage's path equals its cap timer, and the overall cap timer reads the `cap_wd` variable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from engine.bpmn.critical_path import critical_path
from engine.models import ProcessDefinition
from tests.conftest import engine_state

EXPECTED = {
    "commercial_project": (67, (12, 25, 30), ["completeness_decision", "review_filing", "review_land",
                                              "review_design", "review_fire", "review_permit"]),
    "government_investment_project": (96, (36, 30, 30), ["completeness_decision", "review_proposal", "review_site",
                                                          "review_feasibility", "review_land", "review_design",
                                                          "review_preliminary_design", "review_fire",
                                                          "review_permit"]),
}
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def _deployed(app: Flask, deploy: Callable[..., Any], key: str) -> bytes:
    deploy(key)
    with engine_state(app).sessions() as s:
        definition = s.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == key)).one()
        return definition.source_xml.encode("utf-8")


@pytest.mark.parametrize("key", EXPECTED)
def test_the_critical_path_is_the_reforms_promise(app: Flask, deploy: Callable[..., Any], key: str) -> None:
    xml = _deployed(app, deploy, key)
    total, stages, on_path = EXPECTED[key]
    path = critical_path(xml, to="review_permit", file=key)
    assert path.days == total
    ids = [step for step, _days in path.steps]
    assert set(on_path) <= set(ids)  # (of parallel branches with equal limits either may be listed)
    assert sum(days for _step, days in path.steps) == total
    assert critical_path(xml, to="approval", file=key).days == total  # the permit ends the approval
    tree = etree.fromstring(xml)
    for number, expected in enumerate(stages, 1):
        assert critical_path(xml, start=f"stage_{number}", to=f"stage_{number}", file=key).days == expected
        cap = tree.find(f".//bpmn:boundaryEvent[@id='cap_stage_{number}']//bpmn:timeDuration", NS)
        assert cap is not None and cap.text == f"P{expected}D"
    overall = tree.find(".//bpmn:boundaryEvent[@id='cap_overall']//bpmn:timeDuration", NS)
    assert overall is not None and overall.text == 'f"P{cap_wd}D"'
    assert f"cap_wd_default = {total}" in xml.decode("utf-8")


@pytest.mark.parametrize("key", EXPECTED)
def test_a_longer_review_lengthens_the_path(app: Flask, deploy: Callable[..., Any], key: str) -> None:
    """The computation reads the limits: raising the fire review's committed limit by 2 moves the total by 2."""
    xml = _deployed(app, deploy, key).decode("utf-8")
    marker = '<spiffworkflow:property name="matter" value="ZJ-04"/>'
    head, tail = xml.split(marker, 1)
    tail = tail.replace('name="limit_committed_wd" value="5"', 'name="limit_committed_wd" value="7"', 1)
    assert critical_path((head + marker + tail).encode(), to="review_permit").days == EXPECTED[key][0] + 2
