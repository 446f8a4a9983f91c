"""Nothing lost, nothing twice (M5) and bad input: a letter taken in twice is a
duplicate, a crash mid-way leaves nothing half-written, unreadable letters wait
in the quarantine for an admin's retry, huge letters are refused clearly."""

from __future__ import annotations

import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Attachment, Customer, Message, Ticket

pytestmark = pytest.mark.plugins(*PLUGINS)


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_the_same_letter_twice_makes_one_ticket(take):
    raw = L.plain()
    assert take(raw).outcome == "created"
    assert take(raw).outcome == "duplicate"
    # Relayed again with one more Received header: the same Message-ID.
    assert take(b"Received: from relay.example\r\n" + raw).outcome == "duplicate"
    assert _count(Ticket) == 1


def test_letters_without_a_message_id_are_told_apart_by_their_bytes(take):
    first = L.plain(message_id=None)
    assert take(first).outcome == "created"
    assert take(first).outcome == "duplicate"
    assert take(L.plain(message_id=None, body="другой текст")).outcome == "created"
    assert _count(Ticket) == 2


def test_a_crash_mid_way_leaves_nothing_and_the_next_try_makes_one_ticket(take, monkeypatch):
    from plugins.mailchannel import service

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(service, "_attach_all", crash)
    with pytest.raises(KeyboardInterrupt):
        take(L.plain())
    assert (_count(Ticket), _count(Customer), _count(Attachment)) == (0, 0, 0)
    monkeypatch.undo()
    assert take(L.plain()).outcome == "created"
    assert take(L.plain()).outcome == "duplicate"
    assert _count(Ticket) == 1


def test_a_letter_that_cannot_be_taken_in_waits_in_the_quarantine_for_a_retry(
        take, inbox, admin):
    from kernel.services.uow import unit_of_work
    from plugins.mailchannel import service
    from plugins.mailchannel.models import MailQuarantine

    with unit_of_work():
        inbox.ticket_type = "no-such-type"
    outcome = take(L.plain())
    assert outcome.outcome == "quarantined" and "no-such-type" in outcome.detail
    assert take(L.plain()).outcome == "quarantined"  # fetched again: still one entry
    held = db.session.scalars(db.select(MailQuarantine)).one()
    assert (held.status, held.sender, held.subject) == ("held", "ivan@example.ru",
                                                        "Не работает принтер")
    assert _count(Ticket) == 0
    with unit_of_work():
        inbox.ticket_type = ""
    assert service.retry(held, admin).outcome == "created"
    db.session.refresh(held)
    assert held.status == "released" and _count(Ticket) == 1


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02 binary junk", b"Subject: no sender\r\n\r\nx"])
def test_unreadable_letters_are_quarantined(take, raw):
    from plugins.mailchannel.models import MailQuarantine

    assert take(raw).outcome == "quarantined"
    assert db.session.scalars(db.select(MailQuarantine)).one().raw == raw


def test_a_huge_letter_is_refused_with_the_limit_named(take):
    from kernel.services import settings
    from plugins.mailchannel.models import MailLetter

    settings.set("mailchannel.max_bytes", 2000)
    outcome = take(L.plain(body="x" * 5000))
    assert outcome.refused and "limit" in outcome.detail
    row = db.session.scalars(db.select(MailLetter)).one()
    assert (row.outcome, row.sender) == ("refused", "ivan@example.ru")
    assert _count(Ticket) == 0


def test_malformed_mime_still_makes_a_ticket(take):
    raw = (b"From: ivan@example.ru\r\nSubject: =?utf-8?B?broken base64?=\r\n"
           b"Message-ID: <m1@x>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
           b"--never-closed\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n0J/RgNC40LLQtdGC!!!\r\n")
    outcome = take(raw)
    assert outcome.outcome == "created"
    assert db.session.get(Ticket, outcome.ticket_id).text


def test_hostile_file_names_are_made_safe(take):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "ivan@example.ru", "files", "<h1@x>"
    msg.set_content("see files")
    for name in ("../../etc/passwd", "invoice\u202egpj.exe", "CON.txt", ".bashrc"):
        msg.add_attachment(b"data", maintype="application", subtype="octet-stream",
                           filename=name)
    outcome = take(bytes(msg))
    names = sorted(db.session.scalars(db.select(Attachment.filename).where(
        Attachment.ticket_id == outcome.ticket_id, Attachment.internal.is_(False))))
    assert names == sorted(["passwd", "invoicegpj.exe", "file-CON.txt", "file.bashrc"])


def test_an_attachment_over_the_limit_is_left_out_and_named(take, app):
    from plugins.mailchannel.models import MailLetter

    app.config["HOOKDESK_MAX_ATTACHMENT_BYTES"] = 300
    msg = L.plain()  # the original (over 300 bytes) is left out too
    outcome = take(msg)
    row = db.session.scalars(db.select(MailLetter)).one()
    assert outcome.outcome == "created" and "original letter" in row.detail
    assert _count(Message) == 0
