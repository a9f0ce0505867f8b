"""A real SMTP server (aiosmtpd) on loopback that keeps what it accepts, for the digest tests."""

from __future__ import annotations

import email
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.controller import Controller

from tests.browser import free_port


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    refuse: bool = False  # answer every message with a permanent error
    delay_s: float = 0.0  # slow server: each recipient takes this long to be accepted
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        # A slow server: the time goes by before the message exists on the server, as with a
        # real server that is slow to answer; a client killed now leaves nothing behind.
        if self.delay_s:
            time.sleep(self.delay_s)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            return "554 5.7.1 Message rejected by policy"
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.inbox = Inbox()
        self.port = port or free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller.loop.is_running():
            self.controller.stop()
