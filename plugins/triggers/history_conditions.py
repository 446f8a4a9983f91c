"""Built-in conditions that look at the customer's other tickets (seed 002, S4):
declared through ``hookdesk_register_trigger_conditions`` like any plugin's.

An event with ``as_of`` (the dry run of a past event, ``plugins.triggers.as_of``)
counts the tickets as they were at that moment: those created later are left
out and statuses are taken from history; the live engine counts them as they
are now, which is the same moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from kernel import declarations as d
from kernel.db import db, utcnow
from kernel.i18n import N_
from kernel.models import Status, Ticket, TicketType
from plugins.triggers import as_of

TYPE = d.FieldDecl("type", "text", N_("Ticket type"),
                   help_text=N_("A ticket type key; empty: any type."))
DAYS = d.FieldDecl("days", "number", N_("Within the last days"), required=True)


def _others(ticket: Any, params: dict[str, Any], include_current: bool = False):
    query = (select(func.count(Ticket.id))
             .join(Status, Ticket.status_id == Status.id)
             .where(Ticket.customer_id == ticket.customer_id))
    if not include_current:
        query = query.where(Ticket.id != ticket.id)
    if params.get("type"):
        query = query.join(TicketType, Ticket.type_id == TicketType.id).where(
            TicketType.key == params["type"])
    return query


def _as_of(event: Any) -> datetime | None:
    return getattr(event, "as_of", None)


def _groups_then(ticket: Any, params: dict[str, Any], moment: datetime):
    """The other tickets that existed at ``moment``: their group then and since when."""
    others = db.session.scalars(_others(ticket, params).with_only_columns(Ticket).where(
        Ticket.created_at <= moment)).all()
    return as_of.status_groups_at(others, moment).values()


def customer_ticket_count(ticket: Any, event: Any, params: dict[str, Any]) -> bool:
    """The customer has at least ``min_count`` tickets (of ``type``) created in the
    last ``days`` days; this ticket counts only with ``include_current``."""
    if ticket.customer_id is None:
        return False
    moment = _as_of(event)
    since = (moment or utcnow()) - timedelta(days=float(params["days"]))
    query = _others(ticket, params, bool(params.get("include_current"))).where(
        Ticket.created_at >= since)
    if moment is not None:
        query = query.where(Ticket.created_at <= moment)
    return (db.session.scalar(query) or 0) >= int(params["min_count"])


def customer_has_open_ticket(ticket: Any, event: Any, params: dict[str, Any]) -> bool:
    """Another ticket (of ``type``) of this customer is open."""
    if ticket.customer_id is None:
        return False
    moment = _as_of(event)
    if moment is not None:
        return any(group == "open" for group, _since in _groups_then(ticket, params, moment))
    return (db.session.scalar(_others(ticket, params).where(Status.group == "open")) or 0) > 0


def customer_recent_failure(ticket: Any, event: Any, params: dict[str, Any]) -> bool:
    """Another ticket (of ``type``) of this customer ended in a ``closed_failure``
    status within the last ``days`` days (seed 002: a repeat request)."""
    if ticket.customer_id is None:
        return False
    moment = _as_of(event)
    since = (moment or utcnow()) - timedelta(days=float(params["days"]))
    if moment is not None:
        return any(group == "closed_failure" and entered >= since
                   for group, entered in _groups_then(ticket, params, moment))
    query = _others(ticket, params).where(Status.group == "closed_failure",
                                          Ticket.closed_at >= since)
    return (db.session.scalar(query) or 0) > 0


CONDITIONS = [
    d.TriggerConditionDecl(
        "triggers.customer_ticket_count", N_("Customer has at least N tickets in the last D days"),
        customer_ticket_count,
        params=[TYPE,
                d.FieldDecl("min_count", "number", N_("At least"), required=True),
                DAYS,
                d.FieldDecl("include_current", "flag", N_("Count this ticket too"))]),
    d.TriggerConditionDecl(
        "triggers.customer_has_open_ticket", N_("Customer has another open ticket"),
        customer_has_open_ticket, params=[TYPE]),
    d.TriggerConditionDecl(
        "triggers.customer_recent_failure",
        N_("A ticket of the customer ended in failure within D days"),
        customer_recent_failure, params=[TYPE, DAYS]),
]
