"""The trigger action ``sms.send`` (through the outbox, once per event), the
``triggers.sms`` action on the ``sms`` channel, and T3: neither is offered while
no gateway is configured. Templates: placeholders, Russian and English."""

from __future__ import annotations

import pytest

from kernel import outbox
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import OutboxMessage, TicketEvent
from kernel.services import tickets
from plugins.sms import service
from plugins.sms.models import SmsDevMessage, SmsMessage, SmsTemplate
from plugins.triggers import catalogue
from plugins.triggers import service as rules
from plugins.triggers.models import Run

RULE = {"name": "SMS on creation", "events": ["created"],
        "actions": [{"action": "sms.send", "params": {"to": "customer", "template": "Принята"}}]}


def _offered() -> set[str]:
    return {a["key"] for a in catalogue.catalogue()["actions"]}


def test_the_actions_are_offered_only_with_a_gateway(app, configure):
    assert not {"sms.send", "triggers.sms"} & _offered()
    with pytest.raises(ValidationFailed) as caught:
        rules.create(RULE)
    message = caught.value.errors["actions.0.action"][0]
    assert "not available now" in message
    assert "“Send an SMS (template or text)” (sms.send)" in message  # named, when saved
    configure("dev")
    assert {"sms.send", "triggers.sms"} <= _offered()
    assert rules.create(RULE).id


def test_a_rule_sends_from_a_template_once(dev, app, admin, agent, make_ticket):
    from kernel.services import customers

    service.save_template({"name": "Принята", "body_ru": "Заявка {{ticket.number}} принята, "
                           "{{customer.name}}.", "body_en": "Ticket {{ticket.number}} received."},
                          admin)
    rules.create(RULE)
    person = customers.create({"name": "Ирина", "phones": ["+7 912 345-67-89"]})
    ticket = make_ticket(actor=agent, subject="Домофон", customer=person.id)
    [message] = db.session.scalars(db.select(SmsMessage)).all()
    assert message.body == f"Заявка {ticket.number} принята, Ирина."
    assert message.via.startswith("rule:") and message.status == "sent"
    [kept] = db.session.scalars(db.select(SmsDevMessage)).all()
    assert kept.body == message.body
    [run] = db.session.scalars(db.select(Run)).all()
    assert run.outcome == "ok"
    # The same event again (a retried job, a second worker): no second SMS.
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    outbox.retry(row)
    assert db.session.scalar(db.select(db.func.count(SmsDevMessage.id))) == 1
    event = db.session.scalar(db.select(TicketEvent).where(TicketEvent.kind == "created"))
    context = {"via": "rule:x", "idempotency_key": message.key}
    service.run_action(ticket, event, {"to": "customer", "template": "Принята"}, context)
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1


def test_a_rule_without_a_phone_or_gateway_fails_visibly(dev, configure, app, agent, make_ticket):
    rules.create({**RULE, "actions": [{"action": "sms.send",
                                       "params": {"to": "customer", "text": "Hi"}}]})
    make_ticket(actor=agent, subject="Без клиента")
    [run] = db.session.scalars(db.select(Run)).all()
    assert run.outcome == "failed" and "no phone" in run.error
    configure("")
    from kernel.services import customers

    person = customers.create({"name": "Ирина", "phones": ["+7 912 345-67-89"]})
    make_ticket(actor=agent, subject="Шлюз выключен", customer=person.id)
    runs = db.session.scalars(db.select(Run).order_by(Run.id)).all()
    assert runs[-1].outcome == "failed" and "No SMS gateway is configured" in runs[-1].error
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 0


def test_the_triggers_sms_action_goes_through_this_channel(dev, app, agent, ticket):
    rules.create({"name": "Triggers SMS", "events": ["status_changed"], "actions": [
        {"action": "triggers.sms", "params": {"to": "customer",
                                              "text": "Заявка {{ticket.number}}: новый статус"}}]})
    tickets.transition(ticket, ticket.type.pipeline.next_statuses(ticket.status)[0].key,
                       actor=agent)
    [message] = db.session.scalars(db.select(SmsMessage)).all()
    assert message.status == "sent" and message.phone == "+79123456789"
    assert message.body == f"Заявка {ticket.number}: новый статус"
    kinds = db.session.scalars(db.select(TicketEvent.kind).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "sms.sent")).all()
    assert kinds == ["sms.sent"]


def test_templates_render_and_refuse_unknown_placeholders(app, admin, agent, ticket):
    template = service.save_template({"name": "Статус", "body_ru": "{{ticket.number}}: "
                                      "{{ticket.status}}", "body_en": "{{ticket.number}}: "
                                      "{{ticket.status}} ({{ticket.subject}})"}, admin)
    status_ru = service.template_text(template, ticket, "ru")
    status_en = service.template_text(template, ticket, "en")
    assert status_ru.startswith(ticket.number) and status_en.endswith("(Не работает домофон)")
    from flask_babel import force_locale

    from web import i18n

    with force_locale("ru"):
        in_russian = i18n.translate_label(ticket.status.name)
    assert in_russian != ticket.status.name and status_ru == f"{ticket.number}: {in_russian}"
    with pytest.raises(ValidationFailed) as caught:
        service.save_template({"name": "Плохой", "body_ru": "{{ticket.nope}}"}, admin)
    assert "{{ticket.nope}}" in caught.value.errors["body_ru"][0]
    with pytest.raises(ValidationFailed) as caught:
        service.save_template({"name": "Статус", "body_en": "x"}, admin)
    assert caught.value.errors["name"] == ["A template with this name exists."]
    with pytest.raises(ValidationFailed) as caught:
        service.save_template({"name": "", "body_ru": "", "body_en": ""}, admin)
    assert set(caught.value.errors) == {"name", "body_ru"}
    from kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        service.save_template({"name": "Агент", "body_ru": "x"}, agent)
    assert db.session.scalar(db.select(db.func.count(SmsTemplate.id))) == 1
