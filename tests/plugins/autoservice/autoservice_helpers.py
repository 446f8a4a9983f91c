"""What the auto-service tests share besides fixtures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update


def contact(actor, customer=None, **values):
    from kernel.services import tickets

    values.setdefault("subject", "Звонок")
    if customer is not None:
        values["customer"] = customer.id
    return tickets.create(values, actor=actor, type="contact")


def complete(ticket, actor, **data):
    from plugins.autoservice import contacts

    return contacts.complete(ticket, data, actor=actor)


def move_in_time(ticket, created_at: datetime | None = None,
                 closed_at: datetime | None = None) -> None:
    """Set when a ticket was opened (and closed): its story happened earlier."""
    from kernel.db import db
    from kernel.models import Ticket
    from kernel.services.uow import unit_of_work

    values = {}
    if created_at is not None:
        values["created_at"] = created_at
    if closed_at is not None:
        values["closed_at"] = closed_at
    with unit_of_work():
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values)
                           .execution_options(synchronize_session=False))
    db.session.expire(ticket)


def record(ticket):
    from plugins.autoservice import contacts

    return contacts.record_for(ticket)
