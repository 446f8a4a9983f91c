"""Calls as records (T1): provider events merged into one row per call, whatever
order they arrive in; the customer found by the kernel's normalized phones; the
call on its ticket's timeline; a ticket opened for an incoming call when the
deployment wants one.

Every adapter (the generic JSON webhook, Zadarma, Asterisk's AMI) turns what it
receives into ``CallEvent``s and hands them to ``apply``. Merging is
order-free: each event only adds facts (the earliest start, the earliest answer,
the latest end, the strongest disposition), and what people read — the outcome
and the duration — is derived from the facts after every merge, so any order of
the same events gives the same row, and an event applied twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from kernel import fieldset, permissions, phones, runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Customer, Ticket, User
from kernel.services import customers, tickets
from kernel.services.uow import unit_of_work
from plugins.telephony import config
from plugins.telephony.models import Call

log = logging.getLogger("hookdesk.telephony")

KINDS = ("start", "answer", "end", "record")
CALL_EVENT = "telephony.call"
ENDED_EVENT = "telephony.call_ended"
VIA = "telephony"
# A call still "ringing" after this long lost its end event: no pop-up any more.
RING_LIMIT = timedelta(minutes=3)
ANSWERED = frozenset({"answered", "answer"})
BUSY = frozenset({"busy"})


class CallFailed(ValueError):
    """Placing a call failed: ``message`` is one of our fixed sentences (translated
    when shown), ``detail`` what the far side said (shown as it is)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(f"{message} {detail}".strip())
        self.message, self.detail = message, detail


@dataclass(frozen=True)
class CallEvent:
    """One thing a provider said about a call. ``kind``: start, answer, end or
    record; ``at``: when it happened (aware UTC; None: now)."""

    provider: str
    call_id: str
    kind: str
    direction: str | None = None
    from_number: str = ""
    to_number: str = ""
    extension: str = ""
    at: datetime | None = None
    duration: int | None = None
    disposition: str = ""
    recording_url: str = ""
    recorded: bool = False  # the provider keeps a recording (fetched on demand)


def check(event: CallEvent) -> None:
    """Refuse a malformed event, naming each bad field."""
    errors: dict[str, str] = {}
    if event.kind not in KINDS:
        errors["event"] = f"Unknown event {event.kind!r}; expected one of: {', '.join(KINDS)}."
    if not event.call_id or len(event.call_id) > 200:
        errors["call_id"] = "A call id of 1 to 200 characters is required."
    if event.direction not in (None, "in", "out"):
        errors["direction"] = "Expected 'in' or 'out'."
    for name in ("from_number", "to_number"):
        if len(getattr(event, name) or "") > 64:
            errors[name.removesuffix("_number")] = "At most 64 characters."
    if len(event.extension or "") > 40:
        errors["extension"] = "At most 40 characters."
    if event.duration is not None and not 0 <= event.duration <= 7 * 86400:
        errors["duration"] = "Seconds between 0 and 604800."
    url = event.recording_url or ""
    if url and (not url.startswith(("http://", "https://")) or len(url) > 2000):
        errors["recording_url"] = "An http:// or https:// address is required."
    if len(event.disposition or "") > 40:
        errors["disposition"] = "At most 40 characters."
    if errors:
        raise ValidationFailed(errors)


# -- merging ---------------------------------------------------------------------------


def _rank(disposition: str) -> int:
    return 3 if disposition in ANSWERED else 2 if disposition in BUSY else 1 if disposition \
        else 0


def _merge(call: Call, event: CallEvent, at: datetime) -> None:
    if event.direction:
        call.direction = event.direction
    if event.from_number and not call.from_number:
        call.from_number = event.from_number
    if event.to_number and not call.to_number:
        call.to_number = event.to_number
    if event.extension and (event.kind in ("answer", "end") or not call.extension):
        call.extension = event.extension
    if event.kind == "start":
        call.started_at = min(call.started_at, at) if call.started_at else at
    elif event.kind == "answer":
        call.answered_at = min(call.answered_at, at) if call.answered_at else at
    elif event.kind == "end":
        call.ended_at = max(call.ended_at, at) if call.ended_at else at
        disposition = (event.disposition or "").strip().lower()
        old = call.disposition or ""
        if _rank(disposition) > _rank(old) or (
                _rank(disposition) == _rank(old) and disposition and disposition < old):
            call.disposition = disposition
        if event.duration is not None:
            call.reported_duration = max(call.reported_duration or 0, event.duration)
    if event.recorded:
        call.recorded = True
    if event.recording_url and (not call.recording_url or event.recording_url
                                < call.recording_url):
        call.recording_url = event.recording_url


def _derive(call: Call) -> None:
    """What people read, from the facts alone (so the order of events never matters)."""
    number = call.external_number
    try:
        call.phone = phones.normalize(number, runtime.config("HOOKDESK_DEFAULT_REGION", "RU")) \
            if number else None
    except phones.InvalidPhone:
        call.phone = None
    if call.ended_at is None:
        call.outcome, call.duration = None, None
        return
    if call.answered_at is not None or call.disposition in ANSWERED:
        call.outcome = "answered"
    elif call.disposition in BUSY:
        call.outcome = "busy"
    else:
        call.outcome = "missed"
    if call.reported_duration is not None:
        call.duration = call.reported_duration
    elif call.answered_at is not None:
        call.duration = max(0, int((call.ended_at - call.answered_at).total_seconds()))
    else:
        call.duration = 0


def customer_for(phone: str | None) -> Customer | None:
    """The customer with this (normalized) phone; with several, the oldest."""
    if not phone:
        return None
    found = customers.find_by_phone(phone, viewer=None)
    return found[0] if found else None


def _row(provider: str, call_id: str) -> Call:
    query = db.select(Call).where(Call.provider == provider, Call.provider_call_id == call_id)
    if db.session.get_bind().dialect.name != "sqlite":  # SQLite: the writer lock is held
        query = query.with_for_update(of=Call)
    call = db.session.scalar(query)
    if call is not None:
        return call
    try:
        with db.session.begin_nested():
            call = Call(provider=provider, provider_call_id=call_id, direction="in",
                        recorded=False, created_at=utcnow())
            db.session.add(call)
            db.session.flush()
        return call
    except IntegrityError:  # another request created it meanwhile
        return db.session.scalar(query)


def apply(event: CallEvent) -> Call:
    """Merge one provider event into its call (created on the first one)."""
    check(event)
    at = event.at or utcnow()
    with unit_of_work():
        call = _row(event.provider, event.call_id)
        was_linked = call.ticket_id is not None
        was_ended = call.ended_at is not None
        _merge(call, event, at)
        _derive(call)
        if call.customer_id is None and call.phone:
            found = customer_for(call.phone)
            call.customer_id = found.id if found else None
        if call.extension:
            agent = config.agent_by_extension(call.extension)
            if agent is not None:
                call.agent_id = agent.id
        call.updated_at = utcnow()
        db.session.flush()
        if call.direction == "in" and call.ticket_id is None and not call.note:
            _auto_ticket(call)
        _timeline(call, was_linked, was_ended)
    return call


# -- tickets ---------------------------------------------------------------------------


def _event_data(call: Call) -> dict[str, Any]:
    return {"call_id": call.id, "direction": call.direction,
            "number": call.external_number, "outcome": call.outcome,
            "duration": call.duration, "agent_id": call.agent_id}


def _timeline(call: Call, was_linked: bool, was_ended: bool, actor: User | None = None) -> None:
    """The call on its ticket's history: once when linked, once more when it ends."""
    if call.ticket_id is None:
        return
    ticket = call.ticket or get_by_id(Ticket, call.ticket_id)
    if not was_linked:
        tickets.record_custom_event(ticket, CALL_EVENT, _event_data(call), actor=actor, via=VIA)
    elif not was_ended and call.ended_at is not None:
        tickets.record_custom_event(ticket, ENDED_EVENT, _event_data(call), via=VIA)


def ticket_values(call: Call, ttype_key: str | None) -> dict[str, Any]:
    """What a ticket opened for a call starts with: a subject with the number,
    the customer, the number in the type's first phone field."""
    ttype = tickets.ticket_type(ttype_key or None)
    number = phones.display(call.phone) if call.phone else (call.external_number or "?")
    values: dict[str, Any] = {"subject": f"☎ {number}"}
    keys = {f.key: f for f in fieldset.for_type(ttype, "agent")}
    if call.customer_id and "customer" in keys:
        values["customer"] = call.customer_id
    phone_field = next((f.key for f in keys.values() if f.type == "phone"), None)
    if phone_field and call.phone:
        values[phone_field] = call.phone
    return values


def _auto_ticket(call: Call) -> None:
    """A ticket of the chosen type for every incoming call (the auto-service plugin's
    ``contact`` type, for instance). A refusal is noted on the call, never lost."""
    key = config.values("main")["auto_ticket_type"]
    if not key:
        return
    try:
        with unit_of_work():  # a savepoint: a refusal undoes only the ticket
            ticket = tickets.create(ticket_values(call, key), actor=None, type=key, via=VIA)
            call.ticket_id = ticket.id
            call.ticket = ticket
            db.session.flush()
    except ValidationFailed as exc:
        call.note = ("Ticket not opened: " + "; ".join(
            f"{k}: {' '.join(m) if isinstance(m, list) else m}"
            for k, m in exc.errors.items()))[:500]
        log.warning("telephony: no ticket for call %s: %s", call.id, call.note)


def open_ticket(call: Call, actor: User) -> Ticket:
    """An agent opens a ticket from a call (the pop-up's button): the call's ticket
    if it has one the agent may see, else a new one of the pop-up's type."""
    permissions.require(actor, "customers.view")
    if call.ticket_id is not None:
        ticket = get_by_id(Ticket, call.ticket_id)
        if ticket is not None and permissions.can_view_ticket(actor, ticket):
            return ticket
    key = config.values("main")["popup_ticket_type"] or None
    with unit_of_work():
        if db.session.get_bind().dialect.name != "sqlite":  # two agents, one click each
            db.session.execute(db.select(Call.id).where(Call.id == call.id).with_for_update())
        db.session.refresh(call)
        if call.ticket_id is not None:  # opened meanwhile by someone else
            return tickets.require_ticket(call.ticket_id, actor)
        ticket = tickets.create(ticket_values(call, key), actor=actor, type=key, via=VIA)
        call.ticket_id, call.ticket = ticket.id, ticket
        if call.agent_id is None:
            call.agent_id = actor.id
        db.session.flush()
        _timeline(call, was_linked=False, was_ended=call.ended_at is not None, actor=actor)
    return ticket


def record_outgoing(provider: str, call_id: str, agent: User, number: str,
                    ticket: Ticket | None) -> Call:
    """A call placed from Hookdesk (click-to-call), before the provider reports it."""
    with unit_of_work():
        call = _row(provider, call_id)
        call.direction, call.to_number = "out", number
        call.from_number = call.from_number or config.extension_of(agent)
        call.extension = call.extension or config.extension_of(agent)
        call.agent_id = agent.id
        call.started_at = call.started_at or utcnow()
        _derive(call)
        if call.customer_id is None and call.phone:
            found = customer_for(call.phone)
            call.customer_id = found.id if found else None
        was_linked = call.ticket_id is not None
        if ticket is not None and call.ticket_id is None:
            call.ticket_id, call.ticket = ticket.id, ticket
        call.updated_at = utcnow()
        db.session.flush()
        _timeline(call, was_linked, was_ended=call.ended_at is not None, actor=agent)
    return call


# -- reading -----------------------------------------------------------------------------


def get(call_id: int, viewer: User | None) -> Call:
    permissions.require(viewer, "customers.view")
    call = get_by_id(Call, call_id)
    if call is None:
        raise NotFound("Call not found.")
    return call


def ringing(viewer: User | None, now: datetime | None = None) -> list[Call]:
    """Incoming calls ringing now, for agents who may see customers (the pop-up)."""
    if viewer is None or not viewer.is_agent or not permissions.has(viewer, "customers.view"):
        return []
    now = now or utcnow()
    return list(db.session.scalars(
        db.select(Call).where(Call.direction == "in", Call.answered_at.is_(None),
                              Call.ended_at.is_(None), Call.started_at.is_not(None),
                              Call.started_at >= now - RING_LIMIT)
        .order_by(Call.started_at.desc(), Call.id.desc()).limit(5)))


def for_ticket(ticket: Ticket) -> list[Call]:
    return list(db.session.scalars(
        db.select(Call).where(Call.ticket_id == ticket.id).order_by(Call.id.desc())))


def for_customer(customer: Customer, limit: int = 200) -> list[Call]:
    return list(db.session.scalars(
        db.select(Call).where(Call.customer_id == customer.id)
        .order_by(Call.id.desc()).limit(limit)))


def recent(limit: int = 100) -> list[Call]:
    return list(db.session.scalars(db.select(Call).order_by(Call.id.desc()).limit(limit)))


def when(call: Call) -> datetime:
    return call.started_at or call.answered_at or call.ended_at or call.created_at


def any_calls() -> bool:
    return db.session.scalar(db.select(Call.id).limit(1)) is not None
