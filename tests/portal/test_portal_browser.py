"""Browser acceptance (issue 8) on Debian's Chromium through Playwright, against the app served from a thread:

- an enterprise registers, applies, uploads, signs a 容缺 commitment, follows the departments' work (driven by
  the test through the services), answers a correction notice, supplies the 容缺 material, downloads its permit
  and the verification page confirms it; another enterprise gets 403 on the project, its documents and permit;
- an executable renamed .pdf, an oversized file and a path-traversal name are refused with a Chinese message and
  nothing is stored;
- the window registers an in-person application, scans the materials and decides: one trip.
Screenshots go to test-output/screenshots/portal_*.png.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.models import Application, Document, Permit, Trip
from engine.portal import intake
from engine.services.commands import run_command
from tests.conftest import TEST_PASSWORD, Auth
from tests.portal.support import (
    PROFILE,
    PROJECT,
    World,
    enterprise,
    exe_bytes,
    pdf_bytes,
    pdf_strings,
    window_clerk,
)
from tests.web.test_browser import SHOTS, sign_in

pytestmark = pytest.mark.browser
MISSING_PRIMARY, MISSING_SECONDARY = "CK-01-M2", "ZRZY-02-M3"


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any]) -> World:
    deploy("commercial_project")
    return World(app)


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal_{name}.png"), full_page=True)


def register_in_browser(page: Any, live: str, serial: int, username: str, *, shot: str | None = None) -> None:
    page.goto(f"{live}/login")
    page.get_by_role("link", name="注册企业账户").click()
    values = {**enterprise(serial), "username": username}
    for name, value in values.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-password", TEST_PASSWORD)
    page.fill("#f-password2", TEST_PASSWORD)
    if shot:
        shoot(page, shot)
    page.get_by_role("button", name="注册并登录").click()
    page.wait_for_url(f"{live}/portal")


def apply_in_browser(page: Any, live: str) -> str:
    page.get_by_role("link", name="申请办理").click()
    page.fill("#f-project_name", PROJECT["project_name"])
    page.check("input[name=kind][value=commercial]")
    page.select_option("#f-district", PROJECT["district"])
    page.fill("#f-address", PROJECT["address"])
    page.fill("#f-building_area_m2", PROJECT["building_area_m2"])
    page.fill("#f-investment_wan", PROJECT["investment_wan"])
    page.get_by_role("button", name="下一步：查看所需材料").click()
    page.wait_for_url(f"{live}/portal/applications/*")
    return str(page.url)


def choose(page: Any, code: str, name: str, content: bytes) -> None:
    page.set_input_files(f"input[name='file-{code}']",
                         files=[{"name": name, "mimeType": "application/pdf", "buffer": content}])


def decide(world: World, app_id: str, data: dict[str, Any]) -> None:
    """The window's decision, through the service the window page uses."""
    state = world.state
    run_command(state.sessions, lambda s: intake.decide(s, state.ctx, s.get(Application, app_id), data,
                                                        actor="clerk.window", now=state.clock.now()))
    world.settle()


def test_an_enterprise_applies_online_and_downloads_a_verified_permit(app: Flask, live: str, page: Any,
                                                                     browser: Any, world: World) -> None:
    register_in_browser(page, live, 81, "chilechuan", shot="register")
    assert "呼和浩特示范置业有限公司" in page.inner_text("main")
    url = apply_in_browser(page, live)
    app_id = url.rsplit("/", 1)[1]
    body = page.inner_text("main")
    assert "企业投资项目（备案类，出让用地）" in body and "commercial_project" in body

    codes = [r.get_attribute("id")[2:] for r in page.locator("tr[id^='m-']").all()]
    for code in codes:
        if code not in (MISSING_PRIMARY, MISSING_SECONDARY, "other"):
            choose(page, code, f"{code}-扫描件.pdf", pdf_bytes(code))
    page.get_by_role("button", name="上传所选文件").click()
    assert "已上传 18 个文件" in page.inner_text(".flash")

    page.get_by_role("link", name="签署容缺受理承诺书").click()
    assert "土地出让金缴纳凭证（ZRZY-02-M3）" in page.inner_text("#commitment-text")
    page.fill("#f-signer_name", "张建国")
    page.check("#f-confirmed")
    shoot(page, "commitment")
    page.get_by_role("button", name="签署承诺书").click()
    assert "已签署容缺受理承诺书" in page.inner_text("main")
    shoot(page, "draft")
    page.get_by_role("button", name="提交申请（网上办理，不跑腿）").click()
    assert "申请已提交" in page.inner_text(".flash")

    world.settle()
    decide(world, app_id, {"decision": "correct", "corrections": ["补交项目总平面示意图（CK-01-M2）"]})
    page.reload()
    assert "待补正材料" in page.inner_text(".portal-head")
    page.get_by_role("link", name="在线办理").click()
    assert "补交项目总平面示意图（CK-01-M2）" in page.inner_text("main")
    choose(page, MISSING_PRIMARY, "总平面图.pdf", pdf_bytes("site plan"))
    shoot(page, "correction")
    page.get_by_role("button", name="提交").click()
    assert "已提交“补正材料（一次性告知补正）”" in page.inner_text(".flash")

    world.settle()
    decide(world, app_id, {"decision": "accept_with_gaps", "missing_secondary": [MISSING_SECONDARY],
                           "rongque_due_wd": 5})
    instance_id = world.application(app_id).instance_id
    world.work_departments(instance_id, until="review_land")
    page.reload()
    departments = page.inner_text("main")
    assert "审批中" in departments and "自然资源和规划局" in departments and "建设用地规划许可" in departments
    assert "一次性告知补正通知书" in departments and "受理通知书" in departments and "补交容缺材料" in departments
    shoot(page, "progress")
    phone = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844},
                                storage_state=page.context.storage_state())
    mobile = phone.new_page()
    mobile.goto(url)
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling on a phone
    shoot(mobile, "progress_mobile")
    phone.close()

    page.get_by_role("link", name="在线办理").click()
    choose(page, MISSING_SECONDARY, "出让金缴纳凭证.pdf", pdf_bytes("land fee"))
    page.get_by_role("button", name="提交").click()
    world.settle()
    world.work_departments(instance_id)
    page.reload()
    assert "准予许可" in page.inner_text(".portal-head")
    shoot(page, "permit")

    permit = page.locator("li.issued-permit", has_text="建筑工程施工许可证")
    with page.expect_download() as download:
        permit.get_by_role("link", name="下载 PDF").click()
    data = download.value.path().read_bytes()
    with world.state.sessions() as s:
        construction = s.scalars(select(Permit).where(Permit.permit_type == "construction")).one()
        doc = s.scalars(select(Document).where(Document.subject_id == construction.id)).one()
    text = pdf_strings(data)
    assert data.startswith(b"%PDF") and doc.verification_code in text and construction.number in text
    permit.get_by_role("link", name=doc.verification_code).click()
    assert "当前有效" in page.inner_text("main") and construction.number in page.inner_text("main")
    shoot(page, "verify")

    page.goto(url)
    page.check("input[name=score][value='5']")
    page.get_by_role("button", name="提交评价").click()
    assert "您的评价：非常满意" in page.inner_text("main")

    other = browser.new_context(locale="zh-CN")
    stranger = other.new_page()
    register_in_browser(stranger, live, 82, "someone.else")
    response = stranger.goto(url)
    assert response.status == 403 and "无权访问" in stranger.inner_text("main")
    assert stranger.goto(f"{live}/projects/{instance_id}").status == 403
    assert stranger.request.get(f"{live}/documents/{doc.id}").status == 403
    shoot(stranger, "forbidden")
    other.close()


def test_hostile_uploads_are_refused_in_chinese_and_nothing_is_stored(app: Flask, live: str, page: Any,
                                                                      world: World) -> None:
    register_in_browser(page, live, 83, "hostile")
    apply_in_browser(page, live)
    cases = [("CK-01-M1", "营业执照.pdf", exe_bytes(), "文件内容是Windows 可执行程序，不允许上传"),
             ("CK-01-M2", "总平面图.pdf", pdf_bytes() + b"%" * (300 * 1024), "文件超过大小上限 256 KB"),
             ("FGW-01-M1", "../../../etc/cron.d/备案.pdf", pdf_bytes(), "文件名不合法：不得包含路径")]
    for code, name, content, _message in cases:
        choose(page, code, name, content)
    page.get_by_role("button", name="上传所选文件").click()
    main = page.inner_text("main")
    assert "上传被拒绝，未保存任何文件" in main
    for code, _name, _content, message in cases:
        assert message in page.inner_text(f"#m-{code}"), code
    shoot(page, "upload_refused")
    with world.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    root = world.state.settings.path(world.state.settings.paths.var) / "docstore"
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_the_window_registers_an_in_person_application_as_one_trip(app: Flask, auth: Auth, live: str, page: Any,
                                                                   world: World) -> None:
    window_clerk(auth)
    sign_in(page, live, "clerk.window")
    page.wait_for_url(f"{live}/inbox")
    page.get_by_role("link", name="一窗受理").click()
    code = enterprise(84)["credit_code"]
    page.fill("#f-code", code)
    page.get_by_role("button", name="查询 / 登记").click()
    for name, value in PROFILE.items():
        page.fill(f"#f-{name}", value)
    page.get_by_role("button", name="保存单位信息").click()
    page.get_by_role("link", name="登记新申请（窗口收件）").click()
    apply_page = page.url
    assert "/window/apply" in apply_page
    page.fill("#f-project_name", "和林格尔新区数据中心配套楼")
    page.check("input[name=kind][value=commercial]")
    page.select_option("#f-district", "和林格尔新区")
    page.fill("#f-address", "和林格尔新区盛乐大街88号")
    page.fill("#f-building_area_m2", "18000")
    page.fill("#f-investment_wan", "26000")
    page.get_by_role("button", name="下一步：查看所需材料").click()
    codes = [r.get_attribute("id")[2:] for r in page.locator("tr[id^='m-']").all()]
    for material in codes:
        if material != "other":
            choose(page, material, f"扫描-{material}.pdf", pdf_bytes(material))
    page.get_by_role("button", name="上传所选文件").click()
    page.get_by_role("button", name="提交（计为申请人跑动 1 次）").click()
    world.settle()
    page.reload()
    assert "材料按事项清单齐全" in page.inner_text("main") and "本申请到窗口 1 次" in page.inner_text("main")
    page.check("input[name=decision][value=accept]")
    shoot(page, "window_decision")
    page.get_by_role("button", name="作出受理决定").click()
    assert "已作出受理决定：受理" in page.inner_text(".flash")
    world.settle()
    page.reload()
    assert "受理通知书" in page.inner_text("main")
    with world.state.sessions() as s:
        assert [t.purpose for t in s.scalars(select(Trip))] == ["intake"]
