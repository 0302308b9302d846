"""`[notify] email = "smtp"`: the message goes to an SMTP server as a UTF-8 e-mail (a minimal SMTP server on a
local socket stands in for the bureau's mail relay)."""

from __future__ import annotations

import dataclasses
import email
import socketserver
import threading
from collections.abc import Iterator
from email.policy import default
from pathlib import Path
from typing import cast

import pytest

from engine.config import Settings
from engine.portal.senders import SmtpSender, build_senders


class _Relay(socketserver.ThreadingTCPServer):
    received: list[bytes]


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        self.wfile.write(b"220 relay.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"DATA":
                self.wfile.write(b"354 end with .\r\n")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                cast(_Relay, self.server).received.append(body)
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif verb == b"EHLO":
                self.wfile.write(b"250-relay.test\r\n250 8BITMIME\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def relay() -> Iterator[_Relay]:
    server = _Relay(("127.0.0.1", 0), _Smtp)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_an_email_reaches_the_relay_in_utf8(settings: Settings, relay: _Relay,
                                            tmp_path: Path) -> None:
    notify = dataclasses.replace(settings.notify, email="smtp", smtp_host="127.0.0.1",
                                 smtp_port=relay.server_address[1], smtp_from="noreply@zwfw.huhhot.test",
                                 smtp_starttls=False)
    senders = build_senders(notify, tmp_path / "outbox")
    assert isinstance(senders["email"], SmtpSender) and set(senders) == {"email", "sms"}
    senders["email"].send({"recipient": "li@example.cn", "subject": "申请已提交",
                           "body": "您单位申报的“敕勒川商业综合体”已提交。"})
    [raw] = relay.received
    mail = email.message_from_bytes(raw, policy=default)
    assert (mail["To"], mail["From"], mail["Subject"]) == ("li@example.cn", "noreply@zwfw.huhhot.test", "申请已提交")
    assert mail.get_content().strip() == "您单位申报的“敕勒川商业综合体”已提交。"
    off = build_senders(dataclasses.replace(notify, email="off", sms="off"), tmp_path / "outbox")
    assert off == {}
