"""Messages to applicants (e-mail to the profile's address, SMS to its contact phone) through an outbox.

- `enqueue` adds one message per channel with a recipient; its `dedupe_key` makes every source idempotent.
- `collect` turns new history events of applications' instances into messages (submitted, an applicant step
  waiting, the clock paused or resumed, a stage done, the approval ended) and reminds of applicant-side due
  dates `remind_days` working days ahead. Notices and permits are announced by the document publisher.
- `dispatch` hands pending messages to the channel's sender, each locked in its own transaction; a failure stays
  for the next round (at most MAX_ATTEMPTS tries).
`run_once` does both; `approvals serve` runs it every `[notify] interval_seconds`, `approvals notify run` once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.bureau import applicants
from engine.calendar import SHANGHAI, WorkCalendar
from engine.diagram.model import Semantics, parse_semantics
from engine.models import (
    Application,
    EventKind,
    InstanceEvent,
    Notification,
    NotificationCursor,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    TimerStatus,
)
from engine.portal import progress, steps
from engine.portal.senders import MessageSender

log = logging.getLogger(__name__)
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 10
CURSOR = "history"
SMS_LIMIT = 140
SIGNATURE = "【呼和浩特市政务服务】"


@dataclass(frozen=True)
class Message:
    topic: str  # status | action | notice | permit | due
    subject: str
    body: str


def enqueue(session: Session, *, key: str, credit_code: str, application_id: str | None, message: Message,
            channels: Iterable[str], now: datetime) -> list[Notification]:
    """One row per channel the enterprise can be reached on; a key already queued adds nothing."""
    profile = applicants.find_profile(session, credit_code)
    if profile is None:
        return []
    recipients = {"email": profile.email, "sms": profile.contact_phone}
    rows = []
    for channel in channels:
        recipient = recipients.get(channel)
        dedupe = f"{key}:{channel}"
        if not recipient or session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe)):
            continue
        body = message.body if channel == "email" else f"{SIGNATURE}{message.body}"[:SMS_LIMIT]
        row = Notification(id=str(uuid.uuid4()), dedupe_key=dedupe, channel=channel, recipient=recipient,
                           credit_code=credit_code, application_id=application_id, topic=message.topic,
                           subject=message.subject, body=body, status=PENDING, attempts=0, last_error=None,
                           created_at=now, sent_at=None)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def _local(at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def _project(app: Application) -> str:
    return f"“{app.project_name}”（申报编号{app.number}）"


class _Reader:
    """Turns one event of an application's instance into a message (or None), caching each definition's
    semantics for the round."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.semantics: dict[int, Semantics] = {}

    def _semantics(self, instance: ProcessInstance) -> Semantics:
        if instance.definition_id not in self.semantics:
            definition = self.session.get(ProcessDefinition, instance.definition_id)
            assert definition is not None
            self.semantics[instance.definition_id] = parse_semantics(definition.source_xml.encode("utf-8"),
                                                                     file=definition.file_name)
        return self.semantics[instance.definition_id]

    def message(self, event: InstanceEvent, app: Application) -> Message | None:
        payload = event.payload or {}
        what = _project(app)
        if event.kind == EventKind.INSTANCE_STARTED:
            return Message("status", "申请已提交", f"您单位申报的{what}已提交，正在进行材料核验，请留意受理结果。")
        if event.kind == EventKind.TASK_CREATED and payload.get("bpmn_id") in steps.STEPS:
            step = steps.STEPS[payload["bpmn_id"]]
            return Message("action", f"需要您办理：{step.title}",
                           f"您单位申报的{what}需要您办理“{step.title}”，请登录网上办事大厅在线提交，无需到窗口。")
        if event.kind == EventKind.CLOCK_PAUSED:
            reason = progress.PAUSE_REASONS.get(str(payload.get("reason")), str(payload.get("reason") or ""))
            return Message("status", "审批计时暂停", f"您单位申报的{what}因“{reason}”暂停计算审批时限，该期间不计入承诺时限。")
        if event.kind == EventKind.CLOCK_RESUMED:
            return Message("status", "审批计时恢复", f"您单位申报的{what}已恢复计算审批时限。")
        if event.kind == EventKind.INSTANCE_ADVANCED:
            return self._stage_done(event, app)
        if event.kind in (EventKind.INSTANCE_COMPLETED, EventKind.INSTANCE_TERMINATED):
            verb = "已办结" if event.kind == EventKind.INSTANCE_COMPLETED else "已终止"
            return Message("status", f"申请{verb}", f"您单位申报的{what}{verb}，可登录网上办事大厅查看结果并评价服务。")
        return None

    def _stage_done(self, event: InstanceEvent, app: Application) -> Message | None:
        """A stage (a subprocess directly inside the approval) completed."""
        instance = self.session.get(ProcessInstance, event.chain)
        if instance is None:
            return None
        semantics = self._semantics(instance)
        done = [e for e in (event.payload or {}).get("elements") or []
                if semantics.elements.get(e) == "subProcess" and e not in semantics.stages
                and not progress.stage_path(semantics, e)]
        if not done:
            return None
        stage = semantics.names.get(done[0], done[0])
        return Message("status", "审批阶段办结", f"您单位申报的{_project(app)}“{stage}”已办结，进入下一环节。")


def collect(session: Session, *, now: datetime, calendar: WorkCalendar, channels: Iterable[str],
            remind_days: int, batch: int = 1000) -> int:
    """New events and due reminders → queued messages. Returns how many messages were queued."""
    channels = list(channels)
    cursor = session.get(NotificationCursor, CURSOR, with_for_update=True)  # one collector at a time
    if cursor is None:
        cursor = NotificationCursor(name=CURSOR, last_event_id=0)
        session.add(cursor)
    queued = 0
    reader = _Reader(session)
    rows = session.execute(select(InstanceEvent, Application).join(
        Application, Application.instance_id == InstanceEvent.chain).where(InstanceEvent.id > cursor.last_event_id)
        .order_by(InstanceEvent.id).limit(batch)).all()
    for event, app in rows:
        message = reader.message(event, app)
        if message is not None:
            queued += len(enqueue(session, key=f"event:{event.id}", credit_code=app.credit_code,
                                  application_id=app.id, message=message, channels=channels, now=now))
    if rows:
        cursor.last_event_id = rows[-1][0].id
    queued += _remind(session, now=now, calendar=calendar, channels=channels, remind_days=remind_days)
    session.flush()
    return queued


def _remind(session: Session, *, now: datetime, calendar: WorkCalendar, channels: list[str],
            remind_days: int) -> int:
    timers = {s.due_timer: (bpmn_id, s) for bpmn_id, s in steps.STEPS.items() if s.due_timer}
    today = now.astimezone(SHANGHAI).date()
    queued = 0
    for timer, app in session.execute(select(Timer, Application).join(
            Application, Application.instance_id == Timer.instance_id).where(
            Timer.status == TimerStatus.WAITING, Timer.bpmn_id.in_(list(timers)), Timer.due_at.is_not(None))):
        due = timer.due_at.astimezone(SHANGHAI).date()
        if due < today or calendar.working_days_between(today, due) > remind_days:
            continue
        _bpmn_id, step = timers[timer.bpmn_id]
        message = Message("due", f"办理期限提醒：{step.title}",
                          f"您单位申报的{_project(app)}需在{_local(timer.due_at)}前完成“{step.title}”，逾期将按规定中止审批或退件。")
        queued += len(enqueue(session, key=f"due:{timer.id}", credit_code=app.credit_code, application_id=app.id,
                              message=message, channels=channels, now=now))
    return queued


def as_message(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "recipient": row.recipient, "subject": row.subject,
            "body": row.body, "topic": row.topic, "credit_code": row.credit_code,
            "application_id": row.application_id, "created_at": row.created_at.isoformat()}


def dispatch(sessions: sessionmaker[Session], senders: Mapping[str, MessageSender], *, now: datetime,
             limit: int = 200) -> tuple[int, int]:
    """Send what is waiting; returns (sent, failed). Each message is locked, sent and marked in its own
    transaction (`SKIP LOCKED`: several processes share the outbox without sending a message twice; a crash
    between sending and committing sends it again, so delivery is at least once)."""
    with sessions() as session:
        ids = list(session.scalars(
            select(Notification.id).where(Notification.status.in_((PENDING, FAILED)),
                                          Notification.attempts < MAX_ATTEMPTS,
                                          Notification.channel.in_(list(senders)))
            .order_by(Notification.created_at, Notification.id).limit(limit)))
    sent = failed = 0
    for notification_id in ids:
        with sessions.begin() as session:
            row = session.scalars(select(Notification).where(
                Notification.id == notification_id, Notification.status.in_((PENDING, FAILED)))
                .with_for_update(skip_locked=True)).first()
            if row is None:
                continue  # another process holds or has sent it
            error = None
            try:
                senders[row.channel].send(as_message(row))
            except Exception as exc:  # noqa: BLE001 (any delivery failure is retried next round)
                error = f"{type(exc).__name__}: {exc}"
                log.warning("notification %s not delivered: %s", row.id, error)
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = SENT, now, None
                sent += 1
            else:
                row.status, row.last_error = FAILED, error[:2000]
                failed += 1
    return sent, failed
