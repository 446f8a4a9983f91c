"""Who is told what, and the letters (P6, A5, R3).

Customers get an e-mail when their ticket is created, when its status changes
and when an agent replies publicly (internal notes never), in their language;
what a letter tells is what ``kernel.visibility`` lets the ticket's customer read
of the event (a transition's comment only when it was meant for the customer):
the ``locale`` of their portal account, else ``HOOKDESK_DEFAULT_LOCALE``. Every
address of the customer gets it: portal accounts and the customer's e-mails.

Agents get an e-mail, if their settings say so (``Preference`` rows, else the
defaults of ``AGENT_EVENTS``), when a ticket is assigned to them, when the
customer replies on their ticket, when the deadline of their ticket passes, and
when a new ticket arrives in a queue they follow. Nobody is told of their own
action.

Every letter is written to the outbox *inside the transaction of the change*
(``hookdesk_event_recorded``), with the idempotency key
``notify-<event id>-<address>``: a rolled-back change sends nothing, a crash
after commit loses nothing, and one event never makes two letters to one
address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from kernel import visibility
from kernel.db import db, get_by_id, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import ChoiceItem, ChoiceList, Message, Status, Ticket, TicketEvent, User
from kernel.services.uow import unit_of_work
from plugins.notifications.models import DeadlineNotice, Preference

log = logging.getLogger("hookdesk.notifications")

CHANNEL = "email"
# Channels an agent can choose in the settings: those with an address on a User.
AGENT_CHANNELS = (CHANNEL,)
NEW_TICKET = "new_ticket:"  # + queue key: "a new ticket in a queue I follow"
SCAN_JOB = "notifications.deadline_scan"
SCAN_SCHEDULE = "*/5 * * * *"
SETTING_CUSTOMERS = "notifications.customer_emails"


@dataclass(frozen=True)
class AgentEvent:
    key: str
    label: str
    help_text: str
    default: bool


AGENT_EVENTS = [
    AgentEvent("assigned", N_("A ticket is assigned to me"),
               N_("Someone else made you the manager of a ticket."), True),
    AgentEvent("customer_replied", N_("The customer replied on my ticket"),
               N_("A new message from the customer on a ticket you manage."), True),
    AgentEvent("deadline_passed", N_("The deadline of my ticket passed"),
               N_("Once per ticket and deadline, while the ticket is open."), True),
]
DEFAULTS = {e.key: e.default for e in AGENT_EVENTS}


# -- preferences -------------------------------------------------------------------


def queues() -> list[tuple[str, str]]:
    """``[(key, label)]`` of the queues an agent may follow."""
    rows = db.session.execute(
        select(ChoiceItem.value, ChoiceItem.label)
        .join(ChoiceList, ChoiceItem.list_id == ChoiceList.id)
        .where(ChoiceList.key == "queues", ChoiceItem.visible.is_(True))
        .order_by(ChoiceItem.order, ChoiceItem.id)
    ).all()
    return [(value, label) for value, label in rows]


def event_keys() -> list[str]:
    return [e.key for e in AGENT_EVENTS] + [NEW_TICKET + key for key, _l in queues()]


def default_for(event: str) -> bool:
    return DEFAULTS.get(event, False)  # following a queue is opt-in


def preferences(user: User) -> dict[tuple[str, str], bool]:
    """Every ``(event, channel)`` an agent can choose, with the current choice."""
    stored = {(p.event, p.channel): p.enabled for p in db.session.scalars(
        select(Preference).where(Preference.user_id == user.id))}
    return {(event, channel): stored.get((event, channel), default_for(event))
            for event in event_keys() for channel in AGENT_CHANNELS}


def wants(user: User | None, event: str, channel: str = CHANNEL) -> bool:
    if user is None or not user.is_active or not user.is_agent or not user.email:
        return False
    row = db.session.scalar(select(Preference.enabled).where(
        Preference.user_id == user.id, Preference.event == event,
        Preference.channel == channel))
    return default_for(event) if row is None else bool(row)


def save_preferences(user: User, choices: dict[tuple[str, str], bool],
                     actor: User | None = None) -> int:
    """Store ``{(event, channel): enabled}`` for ``user``; returns how many changed.
    An agent changes their own settings; an admin (``admin.users``) anyone's."""
    from kernel import permissions

    if actor is None or (actor.id != user.id and not permissions.has(actor, "admin.users")):
        raise ValidationFailed({"user": "You can change only your own notifications."})
    if not user.is_agent:
        raise ValidationFailed({"user": "Notification settings are for employees."})
    known = set(event_keys())
    errors = {f"{e}/{c}": "Unknown event or channel." for e, c in choices
              if e not in known or c not in AGENT_CHANNELS}
    if errors:
        raise ValidationFailed(errors)
    changed = 0
    with unit_of_work():
        rows = {(p.event, p.channel): p for p in db.session.scalars(
            select(Preference).where(Preference.user_id == user.id))}
        for (event, channel), enabled in choices.items():
            row = rows.get((event, channel))
            current = row.enabled if row is not None else default_for(event)
            if row is None:
                db.session.add(Preference(user_id=user.id, event=event, channel=channel,
                                          enabled=bool(enabled)))
            else:
                row.enabled = bool(enabled)
            changed += current != bool(enabled)
    return changed


def followers(queue: str | None) -> list[User]:
    if not queue:
        return []
    return list(db.session.scalars(
        select(User).join(Preference, Preference.user_id == User.id)
        .where(Preference.event == NEW_TICKET + queue, Preference.channel == CHANNEL,
               Preference.enabled.is_(True), User.is_active.is_(True), User.kind == "agent")
        .order_by(User.id)))


# -- links -------------------------------------------------------------------------


def _link(endpoints: tuple[str, ...], fallback: str, ticket: Ticket) -> str:
    from web.mail import external_url

    for endpoint in endpoints:
        if endpoint in current_app.view_functions:
            try:
                return external_url(endpoint, ticket_id=ticket.id)
            except BuildError:
                continue
    base = current_app.config["HOOKDESK_BASE_URL"].rstrip("/")
    return f"{base}/{fallback}/{ticket.id}"


def customer_link(ticket: Ticket) -> str:
    """The ticket's card in the portal by its number, ``/portal/tickets/<number>``
    (the integrator's guide); a digits-only number could be read as an id, so such
    a ticket is linked by id."""
    from web.mail import external_url

    number = ticket.number or ""
    if (number and not number.isdigit() and "/" not in number
            and "portal.ticket_by_number" in current_app.view_functions):
        return external_url("portal.ticket_by_number", number=number)
    return _link(("portal.ticket",), "portal/tickets", ticket)


def agent_link(ticket: Ticket) -> str:
    return _link(("agent.ticket",), "agent/tickets", ticket)


# -- recipients --------------------------------------------------------------------


def default_locale() -> str:
    return current_app.config.get("HOOKDESK_DEFAULT_LOCALE") or "ru"


def customer_recipients(ticket: Ticket) -> list[tuple[User | str, str]]:
    """``[(User or address, locale)]``: the customer's active portal accounts and
    the customer's own e-mails, each address once."""
    customer = ticket.customer
    if customer is None:
        return []
    found: dict[str, tuple[User | str, str]] = {}
    accounts = [a for a in customer.accounts if a.is_active and a.email]
    for account in accounts:
        found.setdefault(account.email.lower(), (account, account.locale or default_locale()))
    locale = next((a.locale for a in accounts if a.locale), None) or default_locale()
    for item in customer.emails:
        if item.email:
            found.setdefault(item.email.lower(), (item.email, locale))
    return list(found.values())


def _address(to: User | str) -> str:
    return (to.email if isinstance(to, User) else to).lower()


def _send(to: User | str, template: str, context: dict[str, Any], key: str,
          ticket: Ticket, locale: str | None = None) -> str:
    from web.mail import send_mail

    return send_mail(to, f"notifications/{template}", context, locale=locale, key=key,
                     ref=f"ticket:{ticket.id}")


# -- events ------------------------------------------------------------------------


def _status_name(ticket: Ticket, key: str | None) -> str:
    status: Status | None = ticket.type.pipeline.status(key) if key else None
    return status.name if status is not None else (key or "")


def on_event(event: TicketEvent, ticket: Ticket) -> int:
    """Write the letters ``event`` calls for; returns how many were written."""
    data = event.data or {}
    written: set[str] = set()
    context: dict[str, Any] = {"ticket": ticket, "event": event}

    def send(to: User | str, template: str, locale: str | None, link: str,
             extra: dict[str, Any] | None = None) -> None:
        address = _address(to)
        if address in written:
            return
        written.add(address)
        _send(to, template, {**context, "link": link, **(extra or {})},
              f"notify-{event.id}-{address}", ticket, locale)

    actor_id = event.actor_id
    # Customers (P6): a letter says only what the kernel's visibility policy lets
    # the ticket's customer read of this event (no agents' comments, no notes).
    customer_template = None
    extra: dict[str, Any] = {}
    seen = visibility.event_view(event, ticket, visibility.customer_reader(ticket))
    shown = seen.data if seen is not None else {}
    if seen is None:
        pass
    elif event.kind == "created":
        customer_template = "customer_created"
    elif event.kind == "status_changed":
        customer_template = "customer_status_changed"
        extra = {"from_status": _status_name(ticket, shown.get("from")),
                 "to_status": _status_name(ticket, shown.get("to")),
                 "closed": shown.get("group") in ("closed_success", "closed_failure"),
                 "comment": shown.get("comment") or ""}
    elif event.kind == "message_posted" and shown.get("author_kind") == "agent":
        message = get_by_id(Message, shown.get("message_id"))
        if message is not None and visibility.can_see_message(
                message, visibility.customer_reader(ticket)):
            customer_template = "customer_reply"
            extra = {"message": message}
    if customer_template and _customers_enabled():
        for to, locale in customer_recipients(ticket):
            if isinstance(to, User) and to.id == actor_id and event.kind != "created":
                continue  # nobody is told of their own action (but "we got it" is)
            send(to, customer_template, locale, customer_link(ticket), extra)
    # Employees (A5).
    if event.kind in ("created", "assigned"):
        to_id = ticket.assignee_id if event.kind == "created" else data.get("to")
        assignee = get_by_id(User, to_id) if to_id else None
        if assignee is not None and assignee.id != actor_id and wants(assignee, "assigned"):
            send(assignee, "agent_assigned", None, agent_link(ticket))
    if event.kind == "created":
        for user in followers(ticket.queue):
            if user.id != actor_id:
                send(user, "agent_new_ticket", None, agent_link(ticket))
    if event.kind == "message_posted" and data.get("author_kind") == "customer":
        assignee = ticket.assignee
        if (assignee is not None and assignee.id != actor_id
                and wants(assignee, "customer_replied")):
            send(assignee, "agent_customer_replied", None, agent_link(ticket),
                 {"message": get_by_id(Message, data.get("message_id"))})
    return len(written)


def _customers_enabled() -> bool:
    from kernel.services import settings

    return bool(settings.get(SETTING_CUSTOMERS, True))


# -- the deadline scan -------------------------------------------------------------


def scan_deadlines(now: datetime | None = None, limit: int = 500) -> int:
    """Tell each manager once that the deadline of their open ticket passed.
    Returns how many tickets were handled."""
    now = now or utcnow()
    noticed = (select(DeadlineNotice.id)
               .where(DeadlineNotice.ticket_id == Ticket.id,
                      DeadlineNotice.deadline == Ticket.deadline).exists())
    due = db.session.execute(
        select(Ticket.id, Ticket.deadline).join(Status, Ticket.status_id == Status.id)
        .where(Status.group == "open", Ticket.deadline.is_not(None), Ticket.deadline <= now,
               ~noticed)
        .order_by(Ticket.id).limit(limit)).all()
    db.session.rollback()
    handled = 0
    for ticket_id, deadline in due:
        try:
            with unit_of_work():
                db.session.add(DeadlineNotice(ticket_id=ticket_id, deadline=deadline))
                db.session.flush()
                ticket = db.session.get(Ticket, ticket_id)
                assignee = ticket.assignee if ticket is not None else None
                if assignee is not None and wants(assignee, "deadline_passed"):
                    stamp = deadline.strftime("%Y%m%d%H%M%S")
                    _send(assignee, "agent_deadline_passed",
                          {"ticket": ticket, "link": agent_link(ticket), "now": now},
                          f"notify-deadline-{ticket_id}-{stamp}-{assignee.email.lower()}",
                          ticket)
        except IntegrityError:  # another scan claimed it first
            db.session.rollback()
            continue
        handled += 1
    return handled
