"""Messages to applicants through the outbox: status changes and required steps collected from the history,
notices announced as they are issued, due dates reminded ahead, each message once per channel; a failing sender
leaves the message for the next round; the default file sender drops JSON files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.bureau.notices import MemorySender
from engine.clock import SimulatedClock
from engine.models import Notification
from engine.portal.notifier import default_senders, run_once
from tests.conftest import Auth
from tests.portal.support import World, submit_online, window_clerk
from tests.portal.test_portal_flow import window_decide
from tests.web.support import login


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: dict[str, Any]) -> None:
        self.calls += 1
        raise ConnectionError("SMS gateway down")


@pytest.fixture
def world(app: Flask, deploy: Callable[..., Any]) -> World:
    deploy("commercial_project")
    return World(app)


@pytest.fixture
def window(app: Flask, auth: Auth) -> Any:
    window_clerk(auth)
    client = app.test_client()
    assert login(client, "clerk.window") == 302
    return client


def subjects(sender: MemorySender) -> list[str]:
    return [m["subject"] for m in sender.sent]


def test_status_changes_steps_and_notices_reach_email_and_sms_once(app: Flask, world: World, window: Any) -> None:
    _client, path = submit_online(app, world, 41, "notified", missing=("CK-01-M2",))
    app_id = path.rsplit("/", 1)[1]
    window_decide(window, app_id, decision="correct", corrections="补交项目总平面示意图（CK-01-M2）")
    world.settle()
    email, sms = MemorySender(), MemorySender()
    out = run_once(world.state, {"email": email, "sms": sms})
    assert (out.sent, out.failed) == (len(email.sent) + len(sms.sent), 0)  # the notice's own were queued by its job
    assert set(subjects(email)) == {"申请已提交", "需要您办理：补正材料（一次性告知补正）", "审批计时暂停",
                                    "收到《一次性告知补正通知书》"}
    assert subjects(sms) == subjects(email) or set(subjects(sms)) == set(subjects(email))
    assert {m["recipient"] for m in email.sent} == {"li@example.cn"}
    assert {m["recipient"] for m in sms.sent} == {"13804710001"}
    assert all(m["body"].startswith("【呼和浩特市政务服务】") and len(m["body"]) <= 140 for m in sms.sent)
    notice = next(m for m in email.sent if m["subject"].startswith("收到"))
    assert "呼审补〔2026〕" in notice["body"]

    again = run_once(world.state, {"email": email, "sms": sms})
    assert (again.queued, again.sent) == (0, 0)


def test_a_due_date_is_reminded_two_working_days_ahead(app: Flask, world: World, window: Any,
                                                       clock: SimulatedClock) -> None:
    _client, path = submit_online(app, world, 42, "reminded", missing=("ZRZY-02-M3",), rongque=("ZRZY-02-M3",))
    app_id = path.rsplit("/", 1)[1]
    assert window_decide(window, app_id, decision="accept_with_gaps", missing_secondary="ZRZY-02-M3",
                         rongque_due_wd="5").status_code == 302
    world.settle()
    senders = {"email": MemorySender()}
    run_once(world.state, senders)
    assert not any(s.startswith("办理期限提醒") for s in subjects(senders["email"]))
    clock.set(clock.now() + timedelta(days=3))  # Monday 2 March + 3 days: Thursday, 2 working days before Monday 9th
    run_once(world.state, senders)
    reminders = [m for m in senders["email"].sent if m["subject"].startswith("办理期限提醒")]
    assert len(reminders) == 1 and "2026年3月9日前完成“补交容缺材料”" in reminders[0]["body"]
    run_once(world.state, senders)
    assert len([m for m in senders["email"].sent if m["subject"].startswith("办理期限提醒")]) == 1


def test_a_failing_sender_leaves_messages_for_the_next_round(app: Flask, world: World) -> None:
    submit_online(app, world, 43, "unlucky")
    failing = Failing()
    first = run_once(world.state, {"sms": failing})
    assert first.failed == first.queued == 1 and failing.calls == 1
    with world.state.sessions() as s:
        row = s.scalars(select(Notification)).one()
        assert (row.status, row.attempts, row.last_error) == ("failed", 1, "ConnectionError: SMS gateway down")
    working = MemorySender()
    second = run_once(world.state, {"sms": working})
    assert (second.queued, second.sent) == (0, 1) and subjects(working) == ["申请已提交"]


def test_the_default_file_sender_drops_one_json_file_per_message(app: Flask, world: World) -> None:
    submit_online(app, world, 44, "filed")
    out = run_once(world.state, default_senders(world.state))
    outbox = world.state.settings.path(world.state.settings.paths.var) / "outbox"
    files = sorted(outbox.glob("*/*.json"))
    assert out.sent == 2 and [f.parent.name for f in files] == ["email", "sms"]
    message = json.loads(files[0].read_text("utf-8"))
    assert message["subject"] == "申请已提交" and "敕勒川商业综合体" in message["body"]
