"""Loops and storms die (M4): auto-replies are never answered, bounces mark
the address and open nothing, our own letters coming back are ignored, and one
sender gets a limited number of letters an hour."""

from __future__ import annotations

import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Message, Ticket
from kernel.models.outbox import OutboxMessage

pytestmark = pytest.mark.plugins(*PLUGINS)


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def _to_ivan(status: str) -> int:
    return db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.status == status, OutboxMessage.recipient.contains("ivan@example.ru")))


def test_a_mail_loop_with_an_auto_responder_stops(take, outgoing):
    """Hookdesk answers a new letter; the customer's auto-responder answers every
    letter it gets with a new one (a fresh subject, no thread); we stop answering."""
    take(L.plain())
    answered: set[str] = set()
    rounds = 0
    for rounds in range(1, 11):
        new = [m for m in outgoing(to="ivan@example.ru") if m["Message-ID"] not in answered]
        if not new:
            break
        for index, letter in enumerate(new):
            answered.add(letter["Message-ID"])
            take(L.auto_reply(letter, subject="Я в отпуске", thread=False,
                              message_id=f"<auto-{rounds}-{index}@example.ru>"))
    assert rounds == 2  # our one letter got one auto-reply, which got no answer
    assert _count(Ticket) == 2
    assert _to_ivan("suppressed") == 1


def test_a_responder_without_any_header_is_stopped_by_the_sender_limit(take, outgoing):
    from kernel.services import settings
    from plugins.mailchannel.models import MailQuarantine

    settings.set("mailchannel.sender_hourly_limit", 3)
    take(L.plain())
    answered: set[str] = set()
    for rounds in range(10):
        new = [m for m in outgoing(to="ivan@example.ru") if m["Message-ID"] not in answered]
        if not new:
            break
        for index, letter in enumerate(new):
            answered.add(letter["Message-ID"])
            take(L.plain(subject=f"Ответ {rounds}-{index}", body="ok",
                         message_id=f"<dumb-{rounds}-{index}@example.ru>"))
    assert _count(Ticket) == 3
    held = db.session.scalars(db.select(MailQuarantine)).one()
    assert (held.reason, held.status, held.sender) == ("limited", "held", "ivan@example.ru")


def test_an_auto_reply_to_our_letter_joins_the_thread_and_is_not_answered(take, outgoing):
    ticket_id = take(L.plain()).ticket_id
    ack = outgoing(to="ivan@example.ru")[0]
    outcome = take(L.auto_reply(ack))
    assert (outcome.outcome, outcome.ticket_id) == ("replied", ticket_id)
    assert _count(Message) == 1
    assert _to_ivan("sent") + _to_ivan("pending") == 1  # only the first "we got it"


def test_a_bounce_marks_the_address_and_opens_no_ticket(take, outgoing):
    from plugins.mailchannel import service
    from plugins.mailchannel.models import MailBounce

    ticket_id = take(L.plain()).ticket_id
    ack = outgoing(to="ivan@example.ru")[0]
    outcome = take(L.bounce(ack))
    assert (outcome.outcome, outcome.ticket_id) == ("bounce", ticket_id)
    assert _count(Ticket) == 1
    mark = db.session.scalars(db.select(MailBounce)).one()
    assert (mark.address, mark.status) == ("ivan@example.ru", "5.1.1")
    assert service.is_bouncing("IVAN@example.ru")
    note = db.session.scalars(db.select(Message)).one()
    assert note.internal and "could not be delivered" in note.body


def test_our_own_letter_coming_back_is_ignored(take, outgoing):
    take(L.plain())
    ack = outgoing(to="ivan@example.ru")[0]
    assert take(bytes(ack)).outcome == "own"
    assert _count(Ticket) == 1


@pytest.mark.parametrize("header, value", [
    ("Auto-Submitted", "auto-generated"), ("Precedence", "bulk"), ("Precedence", "junk"),
    ("Precedence", "list"), ("X-Autoreply", "yes"), ("X-Autorespond", "vacation"),
    ("X-Auto-Response-Suppress", "OOF"), ("List-Id", "<news.example.ru>"),
])
def test_automatic_letters_are_recognised(header, value):
    from plugins.mailchannel import parse

    assert parse.read(L.plain(**{header.replace("-", "_"): value})).automatic
    assert not parse.read(L.plain(Auto_Submitted="no")).automatic


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example", "postmaster@mx.example",
                                    "noreply@shop.example"])
def test_machine_senders_are_recognised(sender):
    from plugins.mailchannel import parse

    assert parse.read(L.plain(sender=sender)).automatic
