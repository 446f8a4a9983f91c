"""The LMTP/SMTP receiver an MTA hands letters to (``hookdesk mail serve``, M1):
250 only once the letter is committed, 550 for an unknown mailbox, 552 over the
size limit, 451 (try later) when the database fails."""

from __future__ import annotations

import smtplib
import socket

import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Ticket

pytestmark = pytest.mark.plugins(*PLUGINS)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(app, inbox):
    from plugins.mailchannel import receiver

    started = []

    def start(lmtp=True):
        port = _port()
        started.append(receiver.start(app, "127.0.0.1", port, lmtp=lmtp))
        return port

    yield start
    for controller in started:
        controller.stop()


def crlf(raw: bytes) -> bytes:
    """As a letter travels over SMTP: lines end in CRLF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _tickets() -> int:
    db.session.rollback()  # see what the receiver's thread committed
    return db.session.scalar(db.select(db.func.count(Ticket.id)))


def test_lmtp_hands_a_letter_over_and_gets_250_after_commit(serve):
    port = serve()
    with smtplib.LMTP("127.0.0.1", port) as client:
        refused = client.sendmail("ivan@example.ru", ["support@desk.example"],
                                  crlf(L.outlook()))
    assert refused == {}
    assert _tickets() == 1


def test_smtp_works_too_and_the_same_letter_twice_is_one_ticket(serve):
    port = serve(lmtp=False)
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("ivan@example.ru", ["support@desk.example"],
                                  crlf(L.plain()))
    assert _tickets() == 1


def test_an_unknown_mailbox_is_refused(serve):
    port = serve()
    with smtplib.LMTP("127.0.0.1", port) as client, pytest.raises(
            smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("ivan@example.ru", ["nobody@desk.example"], crlf(L.plain()))
    assert refused.value.recipients["nobody@desk.example"][0] == 550
    assert _tickets() == 0


def test_a_letter_over_the_limit_gets_552(serve, app):
    from kernel.services import settings

    settings.set("mailchannel.max_bytes", 2000)
    port = serve()
    with smtplib.LMTP("127.0.0.1", port) as client, pytest.raises(
            smtplib.SMTPResponseException) as refused:
        client.sendmail("ivan@example.ru", ["support@desk.example"],
                                  crlf(L.plain(body="x" * 5000)))
    assert refused.value.smtp_code == 552
    assert _tickets() == 0


def test_a_database_failure_answers_try_later(serve, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from plugins.mailchannel import service

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("the database is gone"))

    monkeypatch.setattr(service, "ingest", down)
    port = serve()
    with smtplib.LMTP("127.0.0.1", port) as client, pytest.raises(
            smtplib.SMTPResponseException) as deferred:
        client.sendmail("ivan@example.ru", ["support@desk.example"],
                                  crlf(L.plain()))
    assert deferred.value.smtp_code == 451


def test_the_ingest_command_takes_a_letter_from_a_file(runner, inbox, tmp_path):
    path = tmp_path / "letter.eml"
    path.write_bytes(L.plain())
    result = runner.invoke(args=["mail", "ingest", "--mailbox", "Support", str(path)])
    assert result.exit_code == 0 and result.output.startswith("created"), result.output
    assert _tickets() == 1
