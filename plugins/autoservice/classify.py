"""Automatic categories of a contact (S4) and the record of how they were chosen.

The rules, for a contact of an identified customer:

* **Repair or order status** — the customer has an open work order;
* **Call continuation** — this is the customer's 2nd or later contact on the same
  calendar day in the deployment's time zone (``HOOKDESK_DEFAULT_TIMEZONE``), or
  the customer has an open service request;
* **Repeat request** — a service request of this customer ended in refusal
  within the last 30 calendar days (the day of the refusal is day 0).

When several apply, the first in that order decides (``PRECEDENCE``): an open
work order says the most about why the customer calls; a call continuing the
day's conversation comes next; an old refusal last.

``proposal`` answers ``hookdesk_classify_ticket`` (the category fills an empty
``contact_category``; a caller's phone finds the customer), ``on_event`` runs in
``hookdesk_event_recorded`` inside the creating transaction and writes the
``ContactRecord`` with the rule and its reason, or the operator's override."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kernel import declarations as d
from kernel import runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, Status, Ticket, TicketType
from kernel.services import customers as customer_service
from kernel.services import history
from plugins.autoservice import CATEGORY_FIELD, CONTACT_TYPE, REQUEST_TYPE, categories
from plugins.autoservice.models import ContactRecord, WorkOrder

PRECEDENCE = ("order_status", "continuation", "repeat")
REPEAT_DAYS = 30
OWN_EVENTS = ("autoservice.category_suggested", "autoservice.category_overridden",
              "autoservice.outcome", "autoservice.request_continued")

# How a reason reads; params fill the placeholders.
REASONS = {
    "work_order_open": N_("Work order %(number)s is open"),
    "nth_contact_today": N_("Contact no. %(n)s of this customer today"),
    "request_open": N_("Service request %(number)s is open"),
    "request_refused": N_("Service request %(number)s was refused %(days)s day(s) ago"),
}


@dataclass(frozen=True)
class Decision:
    category: str
    rule: str
    reason: dict[str, Any] = field(default_factory=dict)


def zone() -> ZoneInfo:
    return ZoneInfo(runtime.config("HOOKDESK_DEFAULT_TIMEZONE") or "UTC")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tickets_of(customer_id: int, type_key: str):
    return (select(Ticket).join(TicketType, Ticket.type_id == TicketType.id)
            .join(Status, Ticket.status_id == Status.id)
            .where(Ticket.customer_id == customer_id, TicketType.key == type_key))


def open_work_order(customer_id: int) -> WorkOrder | None:
    return db.session.scalar(
        select(WorkOrder).where(WorkOrder.customer_id == customer_id, WorkOrder.status == "open")
        .order_by(WorkOrder.opened_at.desc(), WorkOrder.id.desc()).limit(1))


def contacts_today(customer_id: int, now: datetime, exclude: int | None = None) -> int:
    """The customer's contacts opened since the start of ``now``'s day in the
    deployment's time zone (up to ``now``), leaving out ``exclude``."""
    tz = zone()
    local = _aware(now).astimezone(tz)
    start = datetime.combine(local.date(), time.min, tzinfo=tz).astimezone(UTC)
    query = _tickets_of(customer_id, CONTACT_TYPE).where(Ticket.created_at >= start,
                                                        Ticket.created_at <= _aware(now))
    if exclude is not None:
        query = query.where(Ticket.id != exclude)
    return db.session.scalar(select(db.func.count()).select_from(query.subquery())) or 0


def open_request(customer_id: int) -> Ticket | None:
    return db.session.scalar(_tickets_of(customer_id, REQUEST_TYPE)
                             .where(Status.group == "open").order_by(Ticket.id.desc()).limit(1))


def refused_request(customer_id: int, now: datetime) -> tuple[Ticket, int] | None:
    """The latest service request refused at most ``REPEAT_DAYS`` calendar days
    before ``now`` (local days), with how many days ago."""
    tz = zone()
    today = _aware(now).astimezone(tz).date()
    since = _aware(now) - timedelta(days=REPEAT_DAYS + 2)
    found = db.session.scalars(
        _tickets_of(customer_id, REQUEST_TYPE)
        .where(Status.group == "closed_failure", Ticket.closed_at.is_not(None),
               Ticket.closed_at >= since)
        .order_by(Ticket.closed_at.desc(), Ticket.id.desc()))
    for ticket in found:
        days = (today - _aware(ticket.closed_at).astimezone(tz).date()).days
        if 0 <= days <= REPEAT_DAYS:
            return ticket, days
    return None


def decide(customer_id: int | None, now: datetime | None = None,
           exclude: int | None = None) -> Decision | None:
    """The automatic category for a contact of this customer opened at ``now``."""
    if not customer_id:
        return None
    now = now or utcnow()
    for rule in PRECEDENCE:
        cat = categories.by_rule(rule)
        if cat is None or not cat.visible:  # an admin hid it: it is not assigned any more
            continue
        reason = _rule(rule, customer_id, now, exclude)
        if reason is not None:
            return Decision(cat.value, rule, reason)
    return None


def _rule(rule: str, customer_id: int, now: datetime, exclude: int | None):
    if rule == "order_status":
        order = open_work_order(customer_id)
        if order is not None:
            return {"code": "work_order_open", "params": {"number": order.number},
                    "work_order_id": order.id}
    elif rule == "continuation":
        earlier = contacts_today(customer_id, now, exclude)
        if earlier >= 1:
            return {"code": "nth_contact_today", "params": {"n": earlier + 1}}
        request = open_request(customer_id)
        if request is not None:
            return {"code": "request_open", "params": {"number": request.number},
                    "ticket_id": request.id}
    elif rule == "repeat":
        found = refused_request(customer_id, now)
        if found is not None:
            return {"code": "request_refused",
                    "params": {"number": found[0].number, "days": found[1]},
                    "ticket_id": found[0].id}
    return None


def reason_text(reason: dict[str, Any] | None, translate=lambda s: s) -> str:
    """``translate``: the reader's ``gettext`` (pages pass theirs)."""
    if not reason or reason.get("code") not in REASONS:
        return ""
    return translate(REASONS[reason["code"]]) % (reason.get("params") or {})


# -- hooks ---------------------------------------------------------------------------


def _customer_by_phone(raw: Any) -> Customer | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        found = customer_service.find_by_phone(raw)
    except ValidationFailed:
        return None  # the field's own check names the bad number
    return found[0] if len(found) == 1 else None


def proposal(ticket_type: TicketType, values: dict[str, Any],
             customer: Customer | None) -> d.Classification | None:
    """``hookdesk_classify_ticket``: a contact's customer found by the caller's phone
    when none is given, and the automatic category of that customer's contact."""
    if ticket_type.key != CONTACT_TYPE:
        return None
    proposed: dict[str, Any] = {}
    if customer is None and values.get("customer") in (None, ""):
        customer = _customer_by_phone(values.get("caller_phone") or values.get("contact_phone"))
        if customer is not None:
            proposed["customer"] = customer.id
    decision = decide(customer.id if customer is not None else None)
    if decision is not None:
        proposed[CATEGORY_FIELD] = decision.category
    if not proposed:
        return None
    return d.Classification(proposed, confidence=50, reason=reason_text(
        decision.reason if decision else None), plugin="autoservice")


def validate(ticket_type: TicketType, values: dict[str, Any],
             ticket: Ticket | None) -> list[tuple[str, str]] | None:
    """``hookdesk_validate_ticket``: a category is not changed after the outcome; an
    automatic category is taken by hand only when the admin allows it or when its
    rule applies; a hidden category is not chosen anew."""
    if ticket_type.key != CONTACT_TYPE or values.get(CATEGORY_FIELD) in (None, ""):
        return None
    value = values[CATEGORY_FIELD]
    record = db.session.get(ContactRecord, ticket.id) if ticket is not None else None
    if record is not None and record.outcome_at is not None and ticket.is_closed:
        return [(CATEGORY_FIELD, N_("The contact is closed with an outcome; its category "
                                    "no longer changes."))]
    cat = categories.category(value)
    if cat is None:
        return [(CATEGORY_FIELD, N_("Unknown category."))]
    current = ticket.value(CATEGORY_FIELD) if ticket is not None else None
    if not cat.visible and value != current:
        return [(CATEGORY_FIELD, N_("This category is hidden from the list."))]
    if cat.automatic and not cat.allow_manual and value != current:
        if record is not None and record.auto_category == value:
            return None
        customer_id = values.get("customer") if "customer" in values else (
            ticket.customer_id if ticket is not None else None)
        decision = decide(customer_id, exclude=ticket.id if ticket is not None else None)
        if decision is None or decision.category != value:
            return [(CATEGORY_FIELD, N_("This category is chosen automatically, and its "
                                        "rule does not apply to this contact."))]
    return None


def record_of(ticket: Ticket) -> ContactRecord:
    """The contact's record, made on first use (contacts older than the plugin)."""
    record = db.session.get(ContactRecord, ticket.id)
    if record is None:
        record = ContactRecord(ticket_id=ticket.id, customer_id=ticket.customer_id, reason={},
                               overridden=False, category=ticket.value(CATEGORY_FIELD),
                               created_at=ticket.created_at)
        db.session.add(record)
        db.session.flush()
    return record


def _suggest(ticket: Ticket, record: ContactRecord, decision: Decision | None, event) -> None:
    record.customer_id = ticket.customer_id
    record.auto_category = decision.category if decision else None
    record.rule = decision.rule if decision else None
    record.reason = dict(decision.reason) if decision else {}
    chosen = ticket.value(CATEGORY_FIELD)
    record.category = chosen
    record.overridden = bool(decision and chosen and chosen != decision.category)
    db.session.flush()
    if decision is None:
        return
    history.record(ticket, "autoservice.category_suggested",
                   {"category": decision.category, "rule": decision.rule,
                    "reason": decision.reason}, actor=None, via="autoservice")
    if record.overridden:
        history.record(ticket, "autoservice.category_overridden",
                       {"from": decision.category, "to": chosen},
                       actor=event.actor, via=event.via)


def on_event(event, ticket: Ticket) -> None:
    """``hookdesk_event_recorded`` for contacts: record the automatic category when
    the contact is opened or its customer identified; record an override."""
    if event.kind in OWN_EVENTS or ticket.type.key != CONTACT_TYPE:
        return
    if event.kind == "created":
        decision = decide(ticket.customer_id, now=ticket.created_at, exclude=ticket.id)
        _suggest(ticket, record_of(ticket), decision, event)
        return
    if event.kind != "fields_changed":
        return
    changes = (event.data or {}).get("changes") or {}
    record = record_of(ticket)
    if "customer" in changes and record.outcome_at is None:
        decision = decide(ticket.customer_id, exclude=ticket.id)
        if not ticket.value(CATEGORY_FIELD) and decision is not None:
            from kernel.services import tickets

            record.auto_category = decision.category  # lets the update below pass
            tickets.update(ticket, {CATEGORY_FIELD: decision.category}, actor=None,
                           via="autoservice")
        _suggest(ticket, record, decision, event)
    elif CATEGORY_FIELD in changes:
        old, new = changes[CATEGORY_FIELD]
        record.category = new
        overridden = bool(record.auto_category and new != record.auto_category)
        if overridden and event.via != "autoservice":
            history.record(ticket, "autoservice.category_overridden",
                           {"from": old, "to": new, "automatic": record.auto_category},
                           actor=event.actor, via=event.via)
        record.overridden = overridden
        db.session.flush()


def get_customer(ident: Any) -> Customer | None:
    try:
        return get_by_id(Customer, ident)
    except (TypeError, ValueError):
        return None
