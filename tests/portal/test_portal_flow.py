"""An application from registration to the permit through the portal's pages (Flask test client), with the
window's decisions on its pages and the departments driven through the services: correction notice answered
online, 容缺 commitment signed and honoured, permits issued as verifiable PDFs — and the enterprise's profile
submitted once for all of it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.clock import SimulatedClock
from engine.models import (
    Applicant,
    Commitment,
    Document,
    InstanceEvent,
    Notice,
    Permit,
    ProcessInstance,
    Trip,
)
from tests.conftest import Auth, engine_state
from tests.portal.support import (
    PROJECT,
    World,
    enterprise,
    pdf_bytes,
    pdf_strings,
    register,
    text_of,
    token_of,
    window_clerk,
)
from tests.web.support import login

KEY = "commercial_project"
MISSING_PRIMARY, MISSING_SECONDARY = "CK-01-M2", "ZRZY-02-M3"


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any], clock: SimulatedClock) -> World:
    deploy(KEY)
    return World(app)


def materials(world: World, kind: str = "commercial") -> list[str]:
    from engine.bureau.catalog import current_catalog
    from engine.portal import variants

    with world.state.sessions() as s:
        catalog = current_catalog(s, world.state.ctx.processes_dir)
    return [m.code for m in variants.requirements(catalog, kind, None, None, world.state.clock.now().date()).materials]


def upload(client: Any, path: str, files: dict[str, tuple[bytes, str]]) -> Any:
    token = token_of(client, path)
    data: dict[str, Any] = {"csrf_token": token}
    for code, (content, name) in files.items():
        data[f"file-{code}"] = (io.BytesIO(content), name)
    return client.post(f"{path}/files", data=data, content_type="multipart/form-data")


def sign_rongque(client: Any, path: str, codes: list[str], due: int = 5) -> Any:
    query = "&".join([f"materials={c}" for c in codes] + [f"due_wd={due}"])
    page = client.get(f"{path}/commitments/rongque?{query}").get_data(as_text=True)
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(f"{path}/commitments/rongque", data={
        "csrf_token": token, "materials": codes, "due_wd": str(due), "digest": digest, "signer_name": "张建国",
        "confirmed": "on"})


def window_decide(client: Any, app_id: str, **fields: Any) -> Any:
    token = token_of(client, f"/window/applications/{app_id}")
    return client.post(f"/window/applications/{app_id}/decision", data={"csrf_token": token, **fields})


def test_online_application_from_registration_to_a_verified_permit(app: Flask, auth: Auth, world: World) -> None:
    applicant = app.test_client()
    assert register(applicant, 11, "chilechuan").status_code == 302
    token = token_of(applicant, "/portal/apply")
    response = applicant.post("/portal/apply", data={**PROJECT, "csrf_token": token})
    assert response.status_code == 302
    path = response.location
    app_id = path.rsplit("/", 1)[1]
    draft = text_of(applicant.get(path).get_data(as_text=True))
    assert "企业投资项目（备案类，出让用地）" in draft and "本项目涉及的 20 个审批事项" in draft, draft

    wanted = [c for c in materials(world) if c not in (MISSING_PRIMARY, MISSING_SECONDARY)]
    response = upload(applicant, path, {c: (pdf_bytes(c), f"{c}.pdf") for c in wanted})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert sign_rongque(applicant, path, [MISSING_SECONDARY]).status_code == 302
    draft = applicant.get(path).get_data(as_text=True)
    assert "已签署容缺受理承诺书" in draft and "缺少主要材料 1 项" in draft

    token = token_of(applicant, path)
    assert applicant.post(f"{path}/submit", data={"csrf_token": token}).status_code == 302
    world.settle()
    application = world.application(app_id)
    instance_id = application.instance_id
    assert instance_id and "completeness_decision" in world.tasks(instance_id)

    window_clerk(auth)
    window = app.test_client()
    assert login(window, "clerk.window") == 302
    page = window.get(f"/window/applications/{app_id}").get_data(as_text=True)
    assert "缺少主要材料：CK-01-M2" in page
    response = window_decide(window, app_id, decision="correct", corrections="补交项目总平面示意图（CK-01-M2）")
    assert response.status_code == 302
    world.settle()
    assert "correction" in world.tasks(instance_id)

    status = text_of(applicant.get(path).get_data(as_text=True))
    assert "待补正材料" in status and "补交项目总平面示意图（CK-01-M2）" in status, status
    step = world.tasks(instance_id)["correction"].id
    token = token_of(applicant, f"{path}/steps/{step}")
    response = applicant.post(f"{path}/steps/{step}", data={
        "csrf_token": token, "action": "supplied", "note": "已补交",
        f"file-{MISSING_PRIMARY}": (io.BytesIO(pdf_bytes("site plan")), "总平面图.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    world.settle()
    assert "completeness_decision" in world.tasks(instance_id)

    response = window_decide(window, app_id, decision="accept_with_gaps", missing_secondary=MISSING_SECONDARY,
                             rongque_due_wd="5")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    world.settle()
    assert "rongque_supply" in world.tasks(instance_id)

    world.work_departments(instance_id, until="review_land")
    status = text_of(applicant.get(path).get_data(as_text=True))
    assert "正在办理的部门" in status and "自然资源和规划局" in status and "已用" in status

    supply = world.tasks(instance_id)["rongque_supply"].id
    token = token_of(applicant, f"{path}/steps/{supply}")
    response = applicant.post(f"{path}/steps/{supply}", data={
        "csrf_token": token, f"file-{MISSING_SECONDARY}": (io.BytesIO(pdf_bytes("fee")), "出让金凭证.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    world.settle()
    world.work_departments(instance_id)

    with world.state.sessions() as s:
        instance = s.get(ProcessInstance, instance_id)
        permits = {p.permit_type: p for p in s.scalars(select(Permit).where(Permit.instance_id == instance_id))}
        assert set(permits) == {"land_use", "planning", "construction"}
        permit_doc = s.scalars(select(Document).where(Document.subject_id == permits["construction"].id)).one()
        notices = s.scalars(select(Notice.kind).where(Notice.instance_id == instance_id)).all()
        kinds = s.scalars(select(InstanceEvent.kind).where(InstanceEvent.chain == instance_id)).all()
        assert s.scalar(select(func.count()).select_from(Trip)) == 0  # online: no trip
        assert s.scalars(select(Applicant.submissions)).one() == 1  # the profile was entered once
        assert s.scalars(select(Commitment.history_seq)).one() is not None
    assert {"correction", "acceptance"} <= set(notices)
    assert "commitment:signed" in kinds and kinds.count("document:uploaded") == 3
    assert instance.status in ("completed", "running")

    status = text_of(applicant.get(path).get_data(as_text=True))
    assert "准予许可" in status and "建筑工程施工许可证" in status
    pdf = applicant.get(f"/documents/{permit_doc.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = pdf_strings(pdf.data)
    assert permit_doc.verification_code in text and "建筑工程施工许可证" in text
    assert enterprise(11)["name"] in text and permits["construction"].number in text

    anonymous = app.test_client()
    verified = anonymous.get(f"/verify/{permit_doc.verification_code}").get_data(as_text=True)
    assert "当前有效" in verified and permits["construction"].number in verified and permit_doc.sha256 in verified

    other = app.test_client()
    assert register(other, 12, "someone.else").status_code == 302
    assert other.get(path).status_code == 403
    assert other.get(f"/documents/{permit_doc.id}").status_code == 403
    assert other.get(f"/projects/{instance_id}").status_code == 403
    assert engine_state(app) is world.state
