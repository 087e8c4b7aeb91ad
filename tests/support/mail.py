"""A real SMTP server (aiosmtpd) on a free port; tests read what arrived."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collector:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        if self.sink.before_store is not None and self.sink.before_store(message) is False:
            return "451 4.3.0 Try again later"
        with self.sink.lock:
            self.sink.messages.append(message)
        if self.sink.after_store is not None:
            self.sink.after_store(message)
        return "250 OK"


class SmtpSink:
    """The server side of SMTP. For faults, `before_store(message)` runs when the whole message
    has arrived (return False to refuse it with a 451) and `after_store(message)` once it is
    kept, before the 250 answer goes back; both run on the server's thread while the client waits."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None
        self.before_store: Callable[[EmailMessage], bool | None] | None = None
        self.after_store: Callable[[EmailMessage], None] | None = None

    def start(self) -> None:
        self.controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def smtp_sink(app):
    """Points the app's mail settings at a fresh in-process SMTP server."""
    sink = SmtpSink()
    sink.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_TIMEOUT=3
    )
    yield sink
    sink.stop()
