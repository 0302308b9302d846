"""Browser acceptance (issue 9) on Debian's Chromium through Playwright: a clerk signs in, sees only their
department's tasks, gets a Chinese field message for bad data, completes the task and the project moves on;
another department's clerk gets 403; a form post without its CSRF token is refused; five wrong passwords
lock the account. Screenshots of the inbox, a task page and the dashboard go to test-output/screenshots/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.models import HumanTask, InstanceEvent, User
from tests.conftest import ROOT, TEST_PASSWORD, Auth, engine_state
from tests.web.support import PROJECTS, make_people, seed_projects

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run installs it")
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, served from a thread for this test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1366, "height": 860})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def seeded(app: Flask, auth: Auth, deploy: Callable[..., DefinitionOut], clock: SimulatedClock) -> list[str]:
    make_people(auth)
    return seed_projects(app, auth, deploy, clock)


def sign_in(page: Any, live: str, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{live}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def task_id(app: Flask, instance_id: str, bpmn_id: str) -> str:
    with engine_state(app).sessions() as session:
        return session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.bpmn_id == bpmn_id)).one()


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_clerk_works_only_their_departments_task_and_the_project_moves_on(app: Flask, live: str, page: Any,
                                                                          seeded: list[str]) -> None:
    sign_in(page, live, "clerk.nrp")
    page.wait_for_url(f"{live}/inbox")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 3  # one plan review per project; fire (hc) and environment (eco) reviews are hidden
    body = page.inner_text("main")
    assert "规划方案审查" in body and "消防设计审查" not in body and "环境影响评价审批" not in body
    assert page.locator(".chip-yellow").count() == 1  # the first project's plan review is due in 2 working days
    assert "内蒙古示范建设有限公司" in body
    shoot(page, "inbox")

    first = rows.filter(has_text=PROJECTS[0][0])
    first.get_by_role("link", name="办理").click()
    page.wait_for_url(f"{live}/tasks/*")
    page.select_option("#f-decision", label="同意")
    page.fill("#f-opinion", "好")
    page.get_by_role("button", name="提交").click()
    error = page.locator(".field-error")
    assert error.first.inner_text() == "审查意见：长度不能少于 2 个字符"
    assert page.locator("#f-decision").input_value() == "approve"  # what the clerk entered is kept
    shoot(page, "task")

    page.fill("#f-opinion", "规划方案符合控制性详细规划要求，同意。")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(f"{live}/inbox")
    assert "已提交「规划方案审查」" in page.inner_text("main")
    assert page.locator("table.grid tbody tr").count() == 2

    plan = task_id(app, seeded[0], "review_plan")
    with engine_state(app).sessions() as session:
        done = session.get(HumanTask, plan)
        assert (done.status, done.completed_by) == ("completed", "clerk.nrp")
        kinds = session.scalars(select(InstanceEvent.kind).where(InstanceEvent.chain == seeded[0])).all()
        assert "task:completed" in kinds
    page.goto(f"{live}/projects/{seeded[0]}")
    current = page.inner_text(".main-col .card >> nth=0")
    assert "规划方案审查" not in current and "消防设计审查" in current
    assert "规划方案符合控制性详细规划要求" in page.inner_text("main")
    shoot(page, "project")


def test_another_departments_clerk_gets_403_on_the_task_url(app: Flask, live: str, page: Any,
                                                           seeded: list[str]) -> None:
    plan = task_id(app, seeded[0], "review_plan")
    sign_in(page, live, "clerk.hc")
    page.wait_for_url(f"{live}/inbox")
    response = page.goto(f"{live}/tasks/{plan}")
    assert response.status == 403
    assert "无权访问" in page.inner_text("main")
    response = page.request.post(f"{live}/tasks/{plan}/claim", form={"csrf_token": _token(page)})
    assert response.status == 403
    with engine_state(app).sessions() as session:
        assert session.get(HumanTask, plan).assignee is None


def _token(page: Any) -> str:
    page.goto(page.url.split("/tasks/")[0] + "/inbox")
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app: Flask, live: str, page: Any,
                                                                      seeded: list[str]) -> None:
    plan = task_id(app, seeded[0], "review_plan")
    sign_in(page, live, "clerk.nrp")
    page.wait_for_url(f"{live}/inbox")
    with engine_state(app).sessions() as session:
        before = session.scalars(select(InstanceEvent.seq).where(InstanceEvent.chain == seeded[0])).all()
    page.goto(f"{live}/tasks/{plan}")
    page.select_option("#f-decision", label="同意")
    page.fill("#f-opinion", "同意，无意见。")
    page.evaluate("document.querySelector('form.taskform input[name=csrf_token]').remove()")
    page.get_by_role("button", name="提交").click()
    assert "安全校验失败" in page.inner_text("main")
    response = page.request.post(f"{live}/tasks/{plan}/complete",
                                 form={"decision": "approve", "opinion": "同意，无意见。"})
    assert response.status == 400
    with engine_state(app).sessions() as session:
        assert session.get(HumanTask, plan).status == "open"
        after = session.scalars(select(InstanceEvent.seq).where(InstanceEvent.chain == seeded[0])).all()
    assert after == before


def test_five_wrong_passwords_lock_the_account(app: Flask, auth: Auth, live: str, page: Any) -> None:
    make_people(auth)
    for attempt in range(1, 6):
        sign_in(page, live, "clerk.nrp", "Wrong-Passw0rd")
        message = page.inner_text(".flash-error")
        assert ("已锁定" in message) == (attempt == 5), (attempt, message)
    sign_in(page, live, "clerk.nrp")  # the right password no longer helps
    assert "已锁定" in page.inner_text(".flash-error")
    assert page.url.startswith(f"{live}/login")
    with engine_state(app).sessions() as session:
        user = session.scalars(select(User).where(User.username == "clerk.nrp")).one()
        assert user.failed_logins == 5 and user.locked_until is not None
        system = session.scalars(select(InstanceEvent.kind).where(InstanceEvent.chain == "system")).all()
    assert system.count("auth:login_failed") == 6 and system.count("auth:locked") == 1


def test_leader_dashboard_shows_overdue_work_by_department(live: str, page: Any, seeded: list[str]) -> None:
    sign_in(page, live, "leader")
    page.wait_for_url(f"{live}/dashboard")
    assert page.inner_text(".tile-red .tile-num") == "1"  # the first project's fire review
    table = page.inner_text("table.grid")
    for name in ("自然资源和规划局", "住房和城乡建设局", "生态环境局"):
        assert name in table
    shoot(page, "dashboard")
