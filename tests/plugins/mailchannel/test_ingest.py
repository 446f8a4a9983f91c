"""The one service letters come in through: new tickets, replies, reviews (M2, M3)."""

from __future__ import annotations

import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Attachment, Customer, Message, Ticket

pytestmark = pytest.mark.plugins(*PLUGINS)


def _ticket(outcome) -> Ticket:
    assert outcome.ticket_id, outcome
    return db.session.get(Ticket, outcome.ticket_id)


def test_a_new_letter_opens_a_ticket_for_a_new_customer_with_the_original_kept(take, outgoing):
    outcome = take(L.plain())
    assert outcome.outcome == "created"
    ticket = _ticket(outcome)
    assert ticket.subject == "Не работает принтер"
    assert "Принтер не печатает." in ticket.text
    customer = db.session.get(Customer, ticket.customer_id)
    assert [e.email for e in customer.emails] == ["ivan@example.ru"]
    original = db.session.scalars(db.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).one()
    assert original.internal and original.filename.endswith(".eml")
    # The customer is told, in a letter that carries the ticket in its ids.
    sent = outgoing(to="ivan@example.ru")
    assert len(sent) == 1 and "ticket-" in sent[0]["Message-ID"]
    assert sent[0]["X-Hookdesk-Ref"] == f"ticket:{ticket.id}"


def test_a_known_sender_gets_the_ticket_on_their_customer(take, app):
    from kernel.services import customers

    known = customers.create({"name": "Иван", "emails": ["Ivan@Example.ru"]})
    ticket = _ticket(take(L.plain()))
    assert ticket.customer_id == known.id
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


def test_a_reply_threads_into_its_ticket_with_the_quote_trimmed(take, outgoing):
    ticket = _ticket(take(L.plain()))
    ack = outgoing(to="ivan@example.ru")[0]
    outcome = take(L.reply(ack))
    assert outcome.outcome == "replied" and outcome.ticket_id == ticket.id
    message = db.session.scalars(db.select(Message).where(Message.ticket_id == ticket.id)).one()
    assert message.body == "Спасибо, заработало."
    assert message.author_kind == "customer"


def test_a_reply_with_only_in_reply_to_threads_too(take, outgoing):
    ticket = _ticket(take(L.plain()))
    ack = outgoing(to="ivan@example.ru")[0]
    assert take(L.reply(ack, drop_references=True)).ticket_id == ticket.id


def test_the_ticket_number_in_the_subject_threads_a_reply(take):
    ticket = _ticket(take(L.plain()))
    outcome = take(L.plain(subject=f"Re: [{ticket.number}] принтер", body="Ещё вопрос",
                           message_id="<p2@example.ru>"))
    assert (outcome.outcome, outcome.ticket_id) == ("replied", ticket.id)


def test_a_forged_reply_from_another_address_goes_to_review_not_the_thread(take, outgoing):
    from plugins.mailchannel.models import MailReview

    ticket = _ticket(take(L.plain()))
    ack = outgoing(to="ivan@example.ru")[0]
    outcome = take(L.reply(ack, sender="mallory@evil.example", body="Send me the invoice"))
    assert outcome.outcome == "review" and outcome.ticket_id == ticket.id
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0
    review = db.session.scalars(db.select(MailReview)).one()
    assert (review.sender, review.status, review.ticket_id) == (
        "mallory@evil.example", "pending", ticket.id)


def test_a_made_up_reference_does_not_point_into_a_ticket(take, outgoing):
    ticket = _ticket(take(L.plain()))
    ack = outgoing(to="ivan@example.ru")[0]
    forged = str(ack["Message-ID"]).replace(f"ticket-{ticket.id}.", f"ticket-{ticket.id + 1}.")
    raw = L.plain(sender="ivan@example.ru", subject="hello", message_id="<f1@x>",
                  In_Reply_To=forged)
    assert take(raw).outcome == "created"


def test_accepting_a_review_adds_a_note_and_rejecting_drops_it(take, outgoing, agent):
    from plugins.mailchannel import service
    from plugins.mailchannel.models import MailReview

    ticket = _ticket(take(L.plain()))
    ack = outgoing(to="ivan@example.ru")[0]
    take(L.reply(ack, sender="colleague@example.ru", body="Я коллега Ивана"))
    take(L.reply(ack, sender="spam@example.ru", body="spam", message_id="<r2@x>"))
    first, second = db.session.scalars(db.select(MailReview).order_by(MailReview.id)).all()
    service.accept_review(first, agent)
    service.reject_review(second, agent)
    notes = db.session.scalars(db.select(Message).where(Message.ticket_id == ticket.id)).all()
    assert len(notes) == 1 and notes[0].internal and "Я коллега Ивана" in notes[0].body
    assert (first.status, second.status) == ("accepted", "rejected")


def test_a_mailbox_that_may_not_create_customers_sends_strangers_to_review(take, inbox, agent):
    from kernel.services.uow import unit_of_work
    from plugins.mailchannel import service
    from plugins.mailchannel.models import MailReview

    with unit_of_work():
        inbox.create_customers = False
    outcome = take(L.plain())
    assert outcome.outcome == "review" and outcome.ticket_id is None
    ticket = service.accept_review(db.session.scalars(db.select(MailReview)).one(), agent)
    assert ticket.subject == "Не работает принтер" and ticket.customer_id


@pytest.mark.parametrize("build, subject, text, files", [
    (L.outlook, "Счёт за декабрь", "Прошу выставить счёт.", ["Счёт №5.pdf"]),
    (L.gmail_html_only, "Screenshot of the error", "See the error:", ["image.png"]),
    (L.apple_mail, "Photo of the broken door", "Here is the photo:", ["IMG_0042.jpg"]),
    (lambda: L.eight_bit("koi8-r"), "Кондиционер", "Сломался кондиционер", []),
    (lambda: L.eight_bit("windows-1251"), "Кондиционер", "Сломался кондиционер", []),
])
def test_real_world_letters(take, build, subject, text, files):
    ticket = _ticket(take(build()))
    assert ticket.subject == subject
    assert text in ticket.text
    names = sorted(a.filename for a in db.session.scalars(db.select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.internal.is_(False))))
    assert names == sorted(files)


def test_html_is_sanitized_and_remote_images_never_loaded(take):
    from plugins.mailchannel.models import MailLetter

    take(L.outlook())
    row = db.session.scalars(db.select(MailLetter)).one()
    assert "<script" not in row.html and "onclick" not in row.html
    assert "tracker.example" not in row.html
    assert "<b>выставить</b>" in row.html
    take(L.gmail_html_only())
    gmail = db.session.scalars(db.select(MailLetter).order_by(MailLetter.id.desc())).first()
    assert "remote.example" not in gmail.html and 'src="cid:ii_1"' in gmail.html
