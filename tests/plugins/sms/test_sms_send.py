"""Sending: the service (checks, nothing half-written), the outbox (once, retried,
after a crash), the timeline, permissions, the card and the phone icons (T3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel import outbox
from kernel.db import db, utcnow
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.models import OutboxMessage, TicketEvent
from kernel.services import users
from plugins.sms import service
from plugins.sms.models import SmsDevMessage, SmsMessage
from web.testing import login


def _events(ticket, kind):
    return db.session.scalars(db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                           TicketEvent.kind == kind)).all()


def test_an_agent_sends_and_the_dev_gateway_keeps_it(dev, agent, ticket):
    message = service.send(ticket, "8 912 345 67 89", "Мастер придёт завтра", actor=agent)
    assert message.phone == "+79123456789" and message.encoding == "ucs2" and message.parts == 1
    db.session.refresh(message)
    assert message.status == "sent" and message.gateway == "dev"  # the outbox ran after commit
    kept = db.session.scalars(db.select(SmsDevMessage)).all()
    assert [(k.phone, k.body, k.sender) for k in kept] == [
        ("+79123456789", "Мастер придёт завтра", "Hookdesk")]
    [event] = _events(ticket, "sms.sent")
    assert event.data["phone"] == "+79123456789" and event.data["text"] == "Мастер придёт завтра"
    assert event.actor_id == agent.id
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert row.status == "sent" and row.ref == f"ticket:{ticket.id}"


@pytest.mark.parametrize("phone, text, field, words", [
    ("12", "Текст", "phone", "not a valid phone number"),
    ("", "Текст", "phone", "Give a phone number"),
    ("+79123456789", "   ", "text", "Write the text"),
    ("+79123456789", "я" * 500, "text", "at most 6 are allowed"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(dev, agent, ticket, phone,
                                                                      text, field, words):
    with pytest.raises(ValidationFailed) as caught:
        service.send(ticket, phone, text, actor=agent)
    assert words in " ".join(caught.value.errors[field])
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 0
    assert not _events(ticket, "sms.sent")
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_without_a_gateway_nothing_is_sent(app, agent, ticket):
    assert not service.configured()
    with pytest.raises(ValidationFailed) as caught:
        service.send(ticket, "+79123456789", "Текст", actor=agent)
    assert caught.value.errors == {"gateway": ["No SMS gateway is configured."]}


def test_opt_out_and_the_stop_reply(dev, agent, admin, ticket):
    service.opt_out("+7 912 345-67-89", admin, note="по телефону")
    with pytest.raises(ValidationFailed) as caught:
        service.send(ticket, "+79123456789", "Текст", actor=agent)
    assert "asked not to receive SMS" in caught.value.errors["phone"][0]
    service.opt_in("+79123456789", admin)
    assert service.send(ticket, "+79123456789", "Текст", actor=agent).id
    assert service.reply_received("+79123456789", " Стоп! ") is True
    assert service.is_opted_out("+79123456789")
    assert service.reply_received("+79001234567", "спасибо") is False
    with pytest.raises(PermissionDenied):
        service.opt_out("+79001234567", agent)


def test_the_rate_limit_per_recipient(dev, configure, agent, ticket):
    configure("dev", rate_limit=2)
    service.send(ticket, "+79123456789", "Раз", actor=agent)
    service.send(ticket, "+79123456789", "Два", actor=agent)
    with pytest.raises(ValidationFailed) as caught:
        service.send(ticket, "+79123456789", "Три", actor=agent)
    assert "At most 2 SMS an hour" in caught.value.errors["phone"][0]
    assert service.send(ticket, "+79001234567", "Другому", actor=agent).id  # per number
    db.session.execute(db.update(SmsMessage).values(created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert service.send(ticket, "+79123456789", "Через час", actor=agent).id


def test_who_may_send(dev, app, agent, admin, customer_user, ticket):
    plain = users.create({"email": "nosms@test.example", "password": "nosms-pass-1",
                          "name": "No SMS", "roles": []})
    with pytest.raises(PermissionDenied):
        service.send(ticket, "+79123456789", "Текст", actor=plain)
    with pytest.raises(PermissionDenied):
        service.send(ticket, "+79123456789", "Текст", actor=customer_user)
    assert service.send(ticket, "+79123456789", "Админ", actor=admin).id
    assert service.send(ticket, "+79123456789", "Агент", actor=agent).id
    client = app.test_client()
    login(client, plain)
    assert client.post(f"/sms/tickets/{ticket.id}/send",
                       data={"phone": "+79123456789", "text": "x"}).status_code in (403, 404)
    client = app.test_client()
    login(client, customer_user)
    assert client.post(f"/sms/tickets/{ticket.id}/send",
                       data={"phone": "+79123456789", "text": "x"}).status_code in (403, 404)
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 2


def test_the_card_the_button_and_the_phone_icon_only_when_configured(app, configure, client,
                                                                    agent, ticket):
    login(client, agent)
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-panel="sms"' not in page and "/sms/tickets/" not in page
    assert "sms_to=" not in page
    configure("smsru")  # chosen but not filled in: still not configured
    assert 'data-panel="sms"' not in client.get(f"/agent/tickets/{ticket.id}").get_data(
        as_text=True)
    configure("dev")
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-panel="sms"' in page and 'data-plugin-button="sms.send"' in page
    assert "sms_to=%2B79123456789" in page  # the icon beside the customer's phone


def test_sending_from_the_card(dev, client, agent, ticket):
    login(client, agent)
    response = client.post(f"/sms/tickets/{ticket.id}/send",
                           data={"phone": "+79123456789", "text": "Заявка принята"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#sms")
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "Заявка принята" in page and "SMS sent" in page or "SMS отправлено" in page
    response = client.post(f"/sms/tickets/{ticket.id}/send",
                           data={"phone": "12", "text": ""}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Напишите текст SMS." in html and "12 — неверный номер телефона." in html
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1


# -- the outbox ------------------------------------------------------------------------------


def test_gateway_down_then_up_sends_exactly_once(smsru, agent, ticket):
    smsru.down = True
    message = service.send(ticket, "+79123456789", "Hello", actor=agent)
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
    db.session.refresh(message)
    assert message.status == "queued" and "503" in message.error
    assert outbox.deliver(row.id) == "pending" and row.attempts == 1  # not due yet: not tried
    smsru.down = False
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert outbox.sweep() == 1
    db.session.refresh(row)
    db.session.refresh(message)
    assert row.status == "sent" and message.status == "sent" and len(smsru.sent) == 1
    # A worker that died after the gateway took it but before the row said so: the
    # sweep resends the row, and the channel knows the message left already.
    db.session.execute(db.update(OutboxMessage).values(
        status="sending", claimed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert outbox.sweep() == 1
    db.session.refresh(row)
    assert row.status == "sent" and len(smsru.sent) == 1
    assert smsru.sent[0]["msg"] == "Hello" and smsru.sent[0]["to"] == "79123456789"


def test_a_rolled_back_change_sends_nothing(dev, agent, ticket):
    from kernel.services.uow import unit_of_work

    with pytest.raises(RuntimeError), unit_of_work():
        service.send(ticket, "+79123456789", "Не уйдёт", actor=agent)
        raise RuntimeError("the change fails after the SMS was queued")
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 0
    assert db.session.scalar(db.select(db.func.count(SmsDevMessage.id))) == 0


def test_a_refused_number_fails_for_good_and_says_so_on_the_timeline(smsru, agent, ticket):
    smsru.refuse = (202, "Неправильно указан номер телефона получателя")
    message = service.send(ticket, "+79123456789", "Hello", actor=agent)
    db.session.refresh(message)
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert row.status == "failed" and message.status == "failed" and "202" in message.error
    [event] = _events(ticket, "sms.undelivered")
    assert "202" in event.data["error"]


def test_the_customer_sees_neither_the_panel_nor_the_sms_events(dev, app, agent,
                                                               customer_user):
    from kernel.services import tickets

    ticket = tickets.create({"subject": "Своя заявка"}, actor=customer_user)
    service.send(ticket, "+79123456789", "Секретный текст для проверки", actor=agent)
    client = app.test_client()
    login(client, customer_user)
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Секретный текст" not in page and "SMS" not in page
    assert 'data-panel="sms"' not in page
