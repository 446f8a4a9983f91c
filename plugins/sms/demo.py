"""Demo data of the SMS plugin: the development gateway switched on, three
templates in Russian and English, and an SMS already sent and delivered about
the demo customer's latest ticket (queued through the outbox like any other)."""

from __future__ import annotations

from kernel.db import db
from kernel.models import Ticket
from kernel.services import settings
from plugins.sms import service

TEMPLATES = [
    ("Заявка принята",
     "Заявка {{ticket.number}} принята. Мы свяжемся с вами в ближайшее время.",
     "Ticket {{ticket.number}} received. We will contact you shortly."),
    ("Статус заявки", "Заявка {{ticket.number}}: {{ticket.status}}.",
     "Ticket {{ticket.number}}: {{ticket.status}}."),
    ("Не дозвонились",
     "{{customer.name}}, не смогли до вас дозвониться по заявке {{ticket.number}}. "
     "Перезвоните, пожалуйста.",
     "{{customer.name}}, we could not reach you about ticket {{ticket.number}}. "
     "Please call us back."),
]


def load(ctx) -> None:
    if not settings.get("sms.gateway"):
        settings.set("sms.gateway", "dev")
        settings.set("sms.sender", "Hookdesk")
    for name, ru, en in TEMPLATES:
        service.save_template({"name": name, "body_ru": ru, "body_en": en}, None)
    customer = ctx.customer_user.customer if ctx.customer_user else None
    ticket = None
    if customer is not None:
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.customer_id == customer.id)
                                   .order_by(Ticket.id.desc()))
    if ticket is None or not service.ticket_phones(ticket):
        return
    message = service.send(ticket, service.ticket_phones(ticket)[0],
                           service.template_text(service.templates()[0], ticket, "ru"),
                           actor=ctx.agent, via="demo", key=f"sms-demo-{ticket.id}")
    ctx.extra["sms_message_id"] = message.id
