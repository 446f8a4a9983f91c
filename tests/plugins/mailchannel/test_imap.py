"""Fetching from a real IMAP server (Dovecot on loopback, M1, M5): letters are
committed before they are marked seen, a crash between the two takes nothing
twice, TLS and STARTTLS work, a failing mailbox shows its error."""

from __future__ import annotations

import mail_dovecot as dovecot
import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Ticket

pytestmark = pytest.mark.plugins(*PLUGINS)


@pytest.fixture(scope="session")
def imap_server():
    if dovecot.binary() is None:
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    server = dovecot.Dovecot()
    yield server
    server.stop()


@pytest.fixture
def imap(imap_server, inbox):
    from kernel.services.uow import unit_of_work

    imap_server.empty()
    with unit_of_work():
        inbox.imap_host, inbox.imap_port, inbox.imap_security = "127.0.0.1", imap_server.port, \
            "none"
        inbox.imap_username, inbox.imap_password = dovecot.USER, dovecot.PASSWORD
    return imap_server


def _tickets() -> int:
    return db.session.scalar(db.select(db.func.count(Ticket.id)))


def _poll():
    from plugins.mailchannel import imap

    return imap.poll_all()


def test_unseen_letters_become_tickets_and_are_marked_seen(imap, inbox):
    imap.deliver(L.plain(), L.outlook(), L.eight_bit("koi8-r"))
    assert _poll() == {"created": 3}
    assert _tickets() == 3
    assert all(b"\\Seen" in flags for flags in imap.flags())
    assert _poll() == {}  # nothing new
    db.session.refresh(inbox)
    assert inbox.last_polled_at is not None and inbox.last_error == ""


def test_a_crash_after_commit_before_marking_takes_nothing_twice(imap, monkeypatch):
    from imapclient import IMAPClient

    imap.deliver(L.plain())

    def connection_lost(self, *args, **kwargs):
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(IMAPClient, "add_flags", connection_lost)
    _poll()
    assert _tickets() == 1
    assert not any(b"\\Seen" in flags for flags in imap.flags())  # still unseen
    monkeypatch.undo()
    assert _poll() == {"duplicate": 1}
    assert _tickets() == 1 and all(b"\\Seen" in f for f in imap.flags())


def test_a_database_failure_leaves_the_letter_unseen(imap, inbox, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from plugins.mailchannel import service

    imap.deliver(L.plain())

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(service, "ingest", down)
    _poll()
    assert not any(b"\\Seen" in flags for flags in imap.flags())
    db.session.refresh(inbox)
    assert "OperationalError" in inbox.last_error
    monkeypatch.undo()
    assert _poll() == {"created": 1}


def test_delete_after_removes_the_letter_once_committed(imap, inbox):
    from kernel.services.uow import unit_of_work

    with unit_of_work():
        inbox.delete_after = True
    imap.deliver(L.plain())
    assert _poll() == {"created": 1}
    assert imap.flags() == []


def test_a_letter_over_the_limit_is_refused_without_downloading_it(imap):
    from kernel.services import settings
    from plugins.mailchannel.models import MailLetter

    settings.set("mailchannel.max_bytes", 3000)
    imap.deliver(L.plain(body="я" * 4000))
    assert _poll() == {"refused": 1}
    row = db.session.scalars(db.select(MailLetter)).one()
    assert (row.outcome, row.sender) == ("refused", "ivan@example.ru") and row.size > 3000
    assert _poll() == {}


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_connections(imap, inbox, security):
    from kernel.services.uow import unit_of_work
    from plugins.mailchannel import imap as imap_module

    if not imap.tls:
        pytest.skip("openssl is not installed: no certificate for Dovecot")
    with unit_of_work():
        inbox.imap_security, inbox.imap_verify = security, False
        inbox.imap_port = imap.tls_port if security == "ssl" else imap.port
    imap.deliver(L.plain())
    assert imap_module.test_connection(inbox) == "1"
    assert _poll() == {"created": 1}


def test_a_wrong_password_is_shown_on_the_mailbox(imap, inbox):
    from kernel.services.uow import unit_of_work

    with unit_of_work():
        inbox.imap_password = "wrong"
    imap.deliver(L.plain())
    _poll()
    db.session.refresh(inbox)
    assert inbox.last_error and _tickets() == 0
