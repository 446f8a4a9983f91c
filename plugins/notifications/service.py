"""Who is told what, and the letters (P6, A5, R3).

Customers get an e-mail when their ticket is created, when its status changes
and when an agent replies publicly (internal notes never), in their language;
what a letter tells is what ``kernel.visibility`` lets the ticket's customer read
of the event (a transition's comment only when it was meant for the customer):
the ``locale`` of their portal account, else ``HOOKDESK_DEFAULT_LOCALE``. Every
address of the customer gets it: portal accounts and the customer's e-mails.

Employees are told, by e-mail or a channel a plugin adds, when a ticket is
assigned to them, when the customer replies on their ticket, when the deadline
of their ticket passes, when a new ticket arrives in a queue they follow and,
if an administrator or they themselves choose so, of every new ticket. Who
hears of what by which channel is decided in one place,
``plugins.notifications.recipients`` (defaults of ``AGENT_EVENTS``, the
administrator's rules per role or employee, the employee's own narrowing).
Nobody is told of their own action.

The letters are rendered by the worker, not in the request: the change writes
one outbox row for its event (``kernel.event_work``), and its delivery calls
``hookdesk_event_committed``, which writes each letter to the outbox with the
idempotency key ``notify-<event id>-<address>``: a rolled-back change sends
nothing, a crash after commit loses nothing, and one event never makes two
letters to one address, however often the worker runs it.
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
from plugins.notifications import recipients
from plugins.notifications.models import DeadlineNotice, Preference

log = logging.getLogger("hookdesk.notifications")

CHANNEL = recipients.EMAIL
# E-mail is always offered; ``recipients.channels()`` adds those plugins declare.
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
    group: str = "mine"  # mine: tickets one manages; all: every ticket


AGENT_EVENTS = [
    AgentEvent("assigned", N_("A ticket is assigned to me"),
               N_("Someone else made you the manager of a ticket."), True),
    AgentEvent("customer_replied", N_("The customer replied on my ticket"),
               N_("A new message from the customer on a ticket you manage."), True),
    AgentEvent("deadline_passed", N_("The deadline of my ticket passed"),
               N_("Once per ticket and deadline, while the ticket is open."), True),
    AgentEvent("ticket_created", N_("A new ticket arrives"),
               N_("Every new ticket, whoever manages it and whatever its queue."), False,
               "all"),
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


def channel_keys() -> list[str]:
    return [key for key, _label in recipients.channels()]


def preferences(user: User) -> dict[tuple[str, str], bool]:
    """Every ``(event, channel)`` an agent can choose, with what is in force now."""
    return recipients.effective(user, [(e, default_for(e)) for e in event_keys()])[0]


def locked(user: User) -> set[tuple[str, str]]:
    """``(event, channel)`` an administrator's rule turned off for ``user``."""
    return recipients.effective(user, [(e, default_for(e)) for e in event_keys()])[1]


def wants(user: User | None, event: str, channel: str = CHANNEL) -> bool:
    return recipients.wants(user, event, channel, default_for(event))


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
    known_channels = set(channel_keys())
    errors = {f"{e}/{c}": "Unknown event or channel." for e, c in choices
              if e not in known or c not in known_channels}
    if errors:
        raise ValidationFailed(errors)
    changed = 0
    # A choice equal to what is in force without it (default, administrator's
    # rules) is stored as no row, so it keeps following them.
    inherited = recipients.effective(user, [(e, default_for(e)) for e, _c in choices],
                                     with_own=False)[0]
    with unit_of_work():
        rows = {(p.event, p.channel): p for p in db.session.scalars(
            select(Preference).where(Preference.user_id == user.id))}
        for (event, channel), enabled in choices.items():
            row = rows.get((event, channel))
            base = inherited.get((event, channel), default_for(event))
            current = row.enabled if row is not None else base
            if bool(enabled) == base:
                if row is not None:
                    db.session.delete(row)
                changed += current != bool(enabled)
                continue
            if row is None:
                db.session.add(Preference(user_id=user.id, event=event, channel=channel,
                                          enabled=bool(enabled)))
            else:
                row.enabled = bool(enabled)
            changed += current != bool(enabled)
    return changed


def followers(queue: str | None) -> list[User]:
    """Employees a new ticket in ``queue`` is e-mailed to."""
    if not queue:
        return []
    return [u for u, channel in recipients.recipients(NEW_TICKET + queue) if channel == CHANNEL]


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


def on_event(event: TicketEvent, ticket: Ticket, state: dict[str, Any] | None = None) -> int:
    """Write the letters ``event`` calls for; returns how many were written.

    Runs in the worker after the change committed (``hookdesk_event_committed``):
    ``state`` is the ticket as it was at the event (its manager then), and a
    second run for the same event writes nothing twice (the letters' keys)."""
    data = event.data or {}
    state = state or {}
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
    # Employees (A5): who hears of what, by which channel, is ``recipients``' call.
    def tell(what: str, concerned: list[User | None] | None, template: str,
             extra: dict[str, Any] | None = None) -> None:
        for user, channel in recipients.recipients(what, concerned, default_for(what)):
            if user.id == actor_id:
                continue
            if channel == CHANNEL:
                send(user, template, None, agent_link(ticket), extra)
                continue
            to = recipients.address(user, channel)
            if to and f"{channel}:{to}" not in written:
                written.add(f"{channel}:{to}")
                _send_other(user, channel, to, what, ticket, f"notify-{event.id}-{channel}-{to}")

    if event.kind in ("created", "assigned"):
        to_id = (state.get("assignee_id", ticket.assignee_id) if event.kind == "created"
                 else data.get("to"))
        if to_id:
            tell("assigned", [get_by_id(User, to_id)], "agent_assigned")
    if event.kind == "created":
        if ticket.queue:
            tell(NEW_TICKET + ticket.queue, None, "agent_new_ticket")
        tell("ticket_created", None, "agent_new_ticket")
    if (event.kind == "message_posted" and data.get("author_kind") == "customer"
            and ticket.assignee is not None):
        tell("customer_replied", [ticket.assignee], "agent_customer_replied",
             {"message": get_by_id(Message, data.get("message_id"))})
    return len(written)


def _send_other(user: User, channel: str, to: str, what: str, ticket: Ticket, key: str) -> None:
    """A short text on a channel other than e-mail (an SMS): the event, the
    ticket's number and subject and its link, in the employee's language."""
    from flask_babel import force_locale

    from kernel import outbox
    from web import i18n

    labels = {e.key: e.label for e in AGENT_EVENTS}
    with force_locale(user.locale or default_locale()):
        label = i18n.translate_label(labels.get(what, N_("A new ticket in a queue you follow")))
    body = f"{label}: {ticket.number} {ticket.subject} {agent_link(ticket)}"
    outbox.put(channel, to, {"subject": label, "body": body, "ticket_id": ticket.id},
               key=key[:200], ref=f"ticket:{ticket.id}")


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
                stamp = deadline.strftime("%Y%m%d%H%M%S")
                for user, channel in recipients.recipients(
                        "deadline_passed", [assignee], default_for("deadline_passed")):
                    to = recipients.address(user, channel) or ""
                    if channel == CHANNEL:
                        _send(user, "agent_deadline_passed",
                              {"ticket": ticket, "link": agent_link(ticket), "now": now},
                              f"notify-deadline-{ticket_id}-{stamp}-{to.lower()}", ticket)
                    else:
                        _send_other(user, channel, to, "deadline_passed", ticket,
                                    f"notify-deadline-{ticket_id}-{stamp}-{channel}-{to}")
        except IntegrityError:  # another scan claimed it first
            db.session.rollback()
            continue
        handled += 1
    return handled
