"""The enterprise account's own pages and nobody else's; bad registrations, projects and signatures refused in
Chinese with nothing stored; withdrawal through the process's own task; 好差评 only when finished, once."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.models import Application, Commitment, Document, HumanTask, Notice, ServiceRating, User
from tests.conftest import Auth
from tests.portal.support import PROJECT, World, pdf_bytes, register, submit_online, text_of, token_of
from tests.web.support import login


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any]) -> World:
    deploy("commercial_project")
    return World(app)


def count(world: World, model: type) -> int:
    with world.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_bad_registrations_are_refused_in_chinese_and_create_nothing(app: Flask, world: World) -> None:
    client = app.test_client()
    bad_code = register(client, 61, "bad.code", credit_code="91150100MA00000611")
    assert bad_code.status_code == 422 and "统一社会信用代码校验位错误" in text_of(bad_code.get_data(as_text=True))
    weak = register(client, 61, "weak.one", password="password", password2="password")
    assert weak.status_code == 422 and "密码须包含大写字母、小写字母、数字和符号中的至少三类" in text_of(weak.get_data(as_text=True))
    mismatch = register(client, 61, "typo", password2="Another-Passw0rd")
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in text_of(mismatch.get_data(as_text=True))
    assert count(world, User) == 0 and count(world, Application) == 0


def test_a_project_below_the_permit_threshold_is_told_it_needs_no_permit(app: Flask, world: World) -> None:
    client = app.test_client()
    register(client, 62, "tiny")
    response = client.post("/portal/apply", data={**PROJECT, "investment_wan": "20", "building_area_m2": "120",
                                                  "csrf_token": token_of(client, "/portal/apply")})
    assert response.status_code == 422
    assert "可以不申请办理施工许可证" in text_of(response.get_data(as_text=True))
    response = client.post("/portal/apply", data={**PROJECT, "kind": "villa", "district": "火星",
                                                  "csrf_token": token_of(client, "/portal/apply")})
    page = text_of(response.get_data(as_text=True))
    assert response.status_code == 422 and "项目类型" in page and "建设地点（区县）" in page
    assert count(world, Application) == 0


def test_another_enterprise_gets_403_on_everything_of_the_first(app: Flask, auth: Auth, world: World) -> None:
    _first, path = submit_online(app, world, 63, "first.co")
    app_id = path.rsplit("/", 1)[1]
    instance_id = world.application(app_id).instance_id
    with world.state.sessions() as s:
        doc_id = s.scalars(select(Document.id)).first()
        withdraw_task = s.scalars(select(HumanTask.id).where(HumanTask.bpmn_id == "withdraw")).one()
    other = app.test_client()
    register(other, 64, "second.co")
    token = token_of(other, "/portal")
    assert other.get(path).status_code == 403
    assert other.get(f"/documents/{doc_id}").status_code == 403
    assert other.get(f"/projects/{instance_id}").status_code == 403
    assert other.get(f"{path}/withdraw").status_code == 403
    assert other.post(f"{path}/withdraw", data={"csrf_token": token, "reason": "恶意撤回", "confirmed": "on"}
                      ).status_code == 403
    assert other.post(f"{path}/steps/{withdraw_task}", data={"csrf_token": token}).status_code == 403
    assert "敕勒川商业综合体" not in other.get("/projects").get_data(as_text=True)
    with world.state.sessions() as s:
        assert s.get(HumanTask, withdraw_task).status == "open"
    anonymous = app.test_client()
    assert anonymous.get(f"/documents/{doc_id}").status_code == 302
    assert anonymous.get(path).location.startswith("/login")

    auth.user("clerk.nrp", "clerk", departments=("nrp",))
    clerk = app.test_client()
    login(clerk, "clerk.nrp")
    assert clerk.get(f"/documents/{doc_id}").status_code == 403  # no nrp task on this project yet
    world.complete(instance_id, "completeness_decision", {"decision": "accept"})
    world.work_departments(instance_id, until="review_land")
    assert clerk.get(f"/documents/{doc_id}").status_code == 200  # now nrp reviews it
    assert other.get(f"/documents/{doc_id}").status_code == 403


def test_a_signature_on_text_that_changed_is_refused(app: Flask, world: World) -> None:
    client = app.test_client()
    register(client, 65, "signer")
    path = client.post("/portal/apply", data={**PROJECT, "csrf_token": token_of(client, "/portal/apply")}).location
    page = client.get(f"{path}/commitments/rongque?materials=ZRZY-02-M3&due_wd=5").get_data(as_text=True)
    response = client.post(f"{path}/commitments/rongque", data={
        "csrf_token": token_of(client, path), "materials": "ZRZY-02-M3", "due_wd": "8",  # not what was shown
        "digest": re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1), "signer_name": "张建国",
        "confirmed": "on"}, follow_redirects=True)
    assert "承诺书内容已变化" in text_of(response.get_data(as_text=True))
    unconfirmed = client.post(f"{path}/commitments/rongque", data={
        "csrf_token": token_of(client, path), "materials": "ZRZY-02-M3", "due_wd": "5", "digest": "0" * 64,
        "signer_name": "张"})
    text = text_of(unconfirmed.get_data(as_text=True))
    assert unconfirmed.status_code == 422 and "请勾选" in text and "签署人" in text
    assert count(world, Commitment) == 0


def test_withdrawal_completes_the_process_task_and_then_the_service_may_be_rated_once(app: Flask,
                                                                                     world: World) -> None:
    client, path = submit_online(app, world, 66, "withdrawer")
    app_id = path.rsplit("/", 1)[1]
    refused = client.post(f"{path}/rating", data={"csrf_token": token_of(client, path), "score": "5"},
                          follow_redirects=True)
    assert "办结后才能评价" in text_of(refused.get_data(as_text=True))
    empty = client.post(f"{path}/withdraw", data={"csrf_token": token_of(client, path), "reason": ""})
    assert empty.status_code == 422 and "请勾选“确认撤回本申请”" in text_of(empty.get_data(as_text=True))
    response = client.post(f"{path}/withdraw", data={"csrf_token": token_of(client, path), "reason": "投资计划调整",
                                                     "confirmed": "on"})
    assert response.status_code == 302
    world.settle()
    instance_id = world.application(app_id).instance_id
    with world.state.sessions() as s:
        task = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                 HumanTask.bpmn_id == "withdraw")).one()
        assert (task.status, task.completed_by) == ("completed", "withdrawer")
        assert s.scalars(select(Notice.kind).where(Notice.instance_id == instance_id)).all() == ["withdrawal"]
    page = text_of(client.get(path).get_data(as_text=True))
    assert "已撤回" in page and "撤回申请确认书" in page and "服务评价" in page
    poor = client.post(f"{path}/rating", data={"csrf_token": token_of(client, path), "score": "1"},
                       follow_redirects=True)
    assert "请写明原因" in text_of(poor.get_data(as_text=True))
    client.post(f"{path}/rating", data={"csrf_token": token_of(client, path), "score": "4", "comment": "办事顺畅"})
    twice = client.post(f"{path}/rating", data={"csrf_token": token_of(client, path), "score": "5"},
                        follow_redirects=True)
    assert "本申请已评价" in text_of(twice.get_data(as_text=True))
    with world.state.sessions() as s:
        assert [(r.score, r.comment) for r in s.scalars(select(ServiceRating))] == [(4, "办事顺畅")]


def test_a_draft_can_be_discarded_but_a_submitted_upload_stays(app: Flask, world: World) -> None:
    client = app.test_client()
    register(client, 67, "drafter")
    path = client.post("/portal/apply", data={**PROJECT, "csrf_token": token_of(client, "/portal/apply")}).location
    client.post(f"{path}/files", data={"csrf_token": token_of(client, path),
                                       "file-CK-01-M1": (io.BytesIO(pdf_bytes()), "申请表.pdf")},
                content_type="multipart/form-data")
    client.post(f"{path}/submit", data={"csrf_token": token_of(client, path)})
    with world.state.sessions() as s:
        doc_id = s.scalars(select(Document.id)).one()
    response = client.post(f"{path}/files/{doc_id}/delete", data={"csrf_token": token_of(client, path)},
                           follow_redirects=True)
    assert "申请已提交，材料已归档，不能删除" in text_of(response.get_data(as_text=True))
    assert count(world, Document) == 1


def test_an_operator_made_applicant_account_enters_its_enterprise_once(app: Flask, auth: Auth, world: World) -> None:
    from tests.portal.support import enterprise

    auth.user("applicant", "applicant", display_name="示范建设单位")
    client = app.test_client()
    assert login(client, "applicant") == 302
    assert client.get("/").location == "/portal"
    assert "本账户还没有关联单位" in text_of(client.get("/portal").get_data(as_text=True))
    response = client.post("/portal/enterprise", data={**enterprise(68), "csrf_token": token_of(client, "/portal")})
    assert response.status_code == 302
    assert "申请办理" in text_of(client.get("/portal").get_data(as_text=True))
    again = client.post("/portal/enterprise", data={**enterprise(69), "csrf_token": token_of(client, "/portal")})
    assert again.status_code == 409
