"""The SMS plugin's demo data: the development gateway on, templates, and an SMS
already sent about the demo customer's ticket (through the outbox)."""

from __future__ import annotations

from kernel import demo
from kernel.db import db
from plugins.sms import gateways, service
from plugins.sms.models import SmsDevMessage, SmsMessage


def test_demo_data(app):
    demo.load(app.extensions["hookdesk"])
    db.session.expire_all()
    assert gateways.chosen() == "dev" and service.configured()
    assert [t.name for t in service.templates()] == ["Заявка принята", "Не дозвонились",
                                                     "Статус заявки"]
    messages = db.session.scalars(db.select(SmsMessage)).all()
    assert len(messages) == 1 and messages[0].status == "sent" and messages[0].ticket_id
    assert "принята" in messages[0].body and "{{" not in messages[0].body
    assert db.session.scalar(db.select(db.func.count(SmsDevMessage.id))) == 1
    demo.load(app.extensions["hookdesk"])  # once per database
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1
