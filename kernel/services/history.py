"""The append-only event log of a ticket (K6): the card's history, the
triggers' input and the audit trail are the same rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from kernel import event_work, runtime, signals
from kernel.db import db, utcnow
from kernel.models import Ticket, TicketEvent, User
from kernel.services.uow import after_commit


class HistoryIsAppendOnly(RuntimeError):
    pass


@sa_event.listens_for(Session, "before_flush")
def _refuse_history_rewrites(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TicketEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise HistoryIsAppendOnly("ticket history rows cannot be changed or deleted")


def record(
    ticket: Ticket,
    kind: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
    via: str | None = None,
) -> TicketEvent:
    """Append one event row, then let plugins react inside the transaction."""
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        data=_jsonable(data or {}),
        actor_id=actor.id if actor is not None else None,
        via=via,
        at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    runtime.host().call_all("hookdesk_event_recorded", event=event, ticket=ticket)
    if event_work.wanted():
        event_work.put(event, ticket)
    after_commit(signals.event_recorded, "kernel.history", ticket=ticket, event=event, actor=actor)
    return event


def for_ticket(ticket: Ticket) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            db.select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )


def _jsonable(value: Any) -> Any:
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
