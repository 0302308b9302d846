"""Delivery of applicants' messages, one pluggable sender per channel (the shape of engine/bureau/notices.py's
`NoticeSender`: `send(message)` raises to leave the message for a retry).

Defaults: a file drop per channel (`var/outbox/email/`, `var/outbox/sms/`) for a delivery agent or a test to pick
up; `[notify] email = "smtp"` sends e-mail through an SMTP server (credentials from the environment). SMS has no
gateway here: operators plug one in as a sender (`build_senders(..., sms=MyGateway())`).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from engine.bureau.notices import FileSender
from engine.config import NotifySettings


class MessageSender(Protocol):
    def send(self, message: dict[str, Any]) -> None: ...


class SmtpSender:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def send(self, message: dict[str, Any]) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.smtp_from, message["recipient"], message["subject"]
        mail.set_content(message["body"])
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(mail)


def build_senders(settings: NotifySettings, outbox: Path, **plugged: MessageSender) -> dict[str, MessageSender]:
    """channel -> sender from `[notify]`; `plugged` senders (tests, an SMS gateway) win. A channel that is off
    has no sender, and its messages are never created."""
    senders: dict[str, MessageSender] = {}
    if settings.email == "file":
        senders["email"] = FileSender(outbox / "email")
    elif settings.email == "smtp":
        senders["email"] = SmtpSender(settings)
    if settings.sms == "file":
        senders["sms"] = FileSender(outbox / "sms")
    senders.update(plugged)
    return senders
