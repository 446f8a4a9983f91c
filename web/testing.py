"""Test helpers for pages and e-mail (a pytest plugin: ``pytest_plugins =
["web.testing"]`` in a ``conftest.py``).

* The app's test client (``HookdeskClient``) sends the session's CSRF token with
  every unsafe request outside ``/api/``, as Django's test client does, so page
  tests read like a browser's. Pass ``csrf=False`` to send none (the request is
  then refused with 400 — that is how CSRF protection itself is tested).
* ``login(client, user)`` — sign ``user`` in on ``client`` without the login
  form; ``csrf_token(client)`` — a valid token for hand-made requests.
* ``mailbox`` fixture — a real SMTP server on 127.0.0.1 (aiosmtpd) the app sends
  to during the test: ``mailbox.messages`` (``email.message.EmailMessage``),
  ``mailbox.last``, ``mailbox.to(address)``, ``mailbox.text(msg)``,
  ``mailbox.html(msg)``, ``mailbox.links(msg)``, ``mailbox.wait(n)``. It refuses
  recipients whose address starts with ``reject`` (550), for bounce tests.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from web.testclient import HookdeskClient, csrf_token, login

__all__ = ["HookdeskClient", "Mailbox", "csrf_token", "login", "mailbox", "smtp_server"]

# -- a real SMTP server ------------------------------------------------------------


class Mailbox:
    """Messages the loopback SMTP server received."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.messages) >= count, (
            f"expected {count} e-mail(s), got {len(self.messages)}")
        return list(self.messages)

    @property
    def last(self) -> EmailMessage:
        return self.wait(1)[-1]

    def to(self, address: str) -> list[EmailMessage]:
        address = address.lower()
        return [m for m, (_frm, rcpts) in zip(self.messages, self.envelopes, strict=True)
                if address in [r.lower() for r in rcpts]]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        return re.findall(r"https?://[^\s<>\"']+", cls.text(message))


class _Handler:
    """The aiosmtpd handler: hands what arrives to the mailbox. Recipients whose
    address starts with "reject" are refused permanently (550), for bounce tests."""

    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower().startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        with self.box._lock:
            self.box.messages.append(parsed)  # type: ignore[arg-type]
            self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback for the whole session."""
    from aiosmtpd.controller import Controller

    box = Mailbox("127.0.0.1", _free_port())
    controller = Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mailbox(app, smtp_server):
    """The app sends e-mail to the loopback SMTP server during this test."""
    smtp_server.clear()
    previous = app.config.get("HOOKDESK_MAIL_URL")
    app.config["HOOKDESK_MAIL_URL"] = smtp_server.url
    yield smtp_server
    app.config["HOOKDESK_MAIL_URL"] = previous
    smtp_server.clear()
