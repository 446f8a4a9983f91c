"""Built-in actions. Each changes data only through the kernel's services, as the
system (``actor=None``) with ``via="rule:<name>"`` so the history says which rule
did it; side effects (e-mail, SMS, HTTP) are outbox rows, delivered after commit
with the idempotency key ``rule-<rule>-event-<event>-action-<index>``.

An action raises to say it failed: the engine undoes that action alone (its
savepoint) and logs the error; the change that fired the rule stands.
``context`` carries ``rule_id``, ``rule_name``, ``via``, ``action_index``,
``event_id``, ``idempotency_key`` and ``depth``.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from kernel import declarations as d
from kernel import outbox, runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import HookdeskError
from kernel.i18n import N_
from kernel.models import Role, Ticket, User
from plugins.triggers.conditions import assignee_of, customer_of

HTTP_CHANNEL = "triggers.http"
EMAIL_CHANNEL = "email"
SMS_CHANNEL = "sms"
RECIPIENTS = ("customer", "assignee", "agents", "address")
SMS_RECIPIENTS = ("customer", "phone")


class ActionFailed(HookdeskError):
    """An action could not be done; the message goes to the run log."""


class Skipped(Exception):  # noqa: N818 - not an error: nothing to do
    """Nothing to do (e.g. the ticket has no customer e-mail); logged as done."""


# -- templates ------------------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def variables(ticket: Ticket, event: Any, rule_name: str) -> dict[str, Any]:
    customer, assignee = customer_of(ticket), assignee_of(ticket)
    base = {
        "ticket.id": ticket.id, "ticket.number": ticket.number, "ticket.subject": ticket.subject,
        "ticket.text": ticket.text, "ticket.status": ticket.status.name,
        "ticket.status_key": ticket.status.key, "ticket.type": ticket.type.name,
        "ticket.type_key": ticket.type.key, "ticket.priority": ticket.priority,
        "ticket.queue": ticket.queue, "ticket.deadline": ticket.deadline,
        "customer.name": customer.name if customer else "",
        "customer.contract_number": (customer.contract_number or "") if customer else "",
        "customer.phone": customer.phones[0].number if customer and customer.phones else "",
        "customer.email": customer.emails[0].email if customer and customer.emails else "",
        "assignee.name": (assignee.name or assignee.email) if assignee else "",
        "assignee.email": assignee.email if assignee else "",
        "rule.name": rule_name, "event.kind": getattr(event, "kind", ""),
        "base_url": str(runtime.config("HOOKDESK_BASE_URL", "") or "").rstrip("/"),
    }
    return base


def render(text: str, ticket: Ticket, event: Any, rule_name: str, viewer: Any = None) -> str:
    """Fill ``{{ticket.number}}``-style placeholders (see docs/triggers.md);
    ``{{ticket.<field key>}}`` gives any field. Unknown placeholders stay as written.

    ``viewer``: who will read the text, for the kernel's visibility policy — a
    letter or SMS to the ticket's customer (``visibility.customer_reader``) gets
    nothing of the fields the customer may not see (they render empty), whatever
    the rule's text names; ``None`` (staff, the system) gets every field."""
    if "{{" not in text:
        return text
    known = variables(ticket, event, rule_name)
    hidden = _hidden_fields(ticket, viewer)

    def one(match: re.Match) -> str:
        name = match.group(1)
        scope, _dot, key = name.partition(".")
        if (scope == "ticket" and key in hidden) or (scope == "assignee"
                                                     and "assignee" in hidden):
            return ""
        if name in known:
            value = known[name]
        elif name.startswith("ticket."):
            value = ticket.value(name[len("ticket."):])
        else:
            return match.group(0)
        if value is None:
            return ""
        if hasattr(value, "isoformat"):
            return value.isoformat(timespec="minutes") if hasattr(value, "hour") else str(value)
        return str(value)

    return _VARIABLE.sub(one, text)


def _hidden_fields(ticket: Ticket, viewer: Any) -> set[str]:
    """Keys of the ticket's fields ``viewer`` may not read (none for the system)."""
    if viewer is None:
        return set()
    from kernel import fieldset, visibility

    everything = {f.key for f in fieldset.for_type(ticket.type)}
    return everything - visibility.field_keys(ticket.type, viewer)


def _render_values(values: Mapping[str, Any], ticket: Ticket, event: Any, rule: str) -> dict:
    return {k: render(v, ticket, event, rule) if isinstance(v, str) else v
            for k, v in values.items()}


def _localized(text: Any, locale: str) -> str:
    """A text, or ``{"ru": ..., "en": ...}``: the recipient's language, else English,
    else the first one given."""
    if isinstance(text, Mapping):
        if not text:
            return ""
        return str(text.get(locale) or text.get("en") or next(iter(text.values())))
    return "" if text is None else str(text)


def _default_locale() -> str:
    return str(runtime.config("HOOKDESK_DEFAULT_LOCALE", "ru") or "ru")


def _agent(ref: Any) -> User | None:
    """An active agent by id or e-mail."""
    user = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        user = get_by_id(User, ref)
    elif isinstance(ref, str):
        user = db.session.scalar(select(User).where(db.func.lower(User.email) == ref.lower()))
    if user is None or not user.is_agent or not user.is_active:
        return None
    return user


def _key(context: Mapping[str, Any], recipient: str | None = None, many: bool = False) -> str:
    key = context["idempotency_key"]
    if many and recipient:
        key += "-" + hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]
    return key


def channel_ready(channel: str) -> bool:
    """An enabled plugin provides ``channel`` and it is configured."""
    entry = runtime.host().registry.notification_channels.get(channel)
    return entry is not None and (entry.decl.available is None or bool(entry.decl.available()))


def _need_channel(channel: str, what: str) -> None:
    if channel not in runtime.host().registry.notification_channels:
        raise ActionFailed(f"{what}: no enabled plugin provides the {channel!r} channel.")


# -- set fields, status, assignee, note -------------------------------------------------


def set_fields(ticket, event, params, context) -> None:
    from kernel.services import tickets

    values = _render_values(params.get("values") or {}, ticket, event, context["rule_name"])
    tickets.update(ticket, values, actor=None, via=context["via"])


def set_status(ticket, event, params, context) -> None:
    from kernel.services import tickets

    if ticket.status.key == params["status"]:
        raise Skipped(f"The ticket is already in status {params['status']!r}.")
    comment = params.get("comment")
    tickets.transition(ticket, params["status"], actor=None, via=context["via"],
                       comment=render(comment, ticket, event, context["rule_name"])
                       if comment else None)


def assign(ticket, event, params, context) -> None:
    from kernel.services import tickets

    ref = params.get("agent")
    user = None
    if ref not in (None, ""):
        user = _agent(ref)
        if user is None:
            raise ActionFailed(f"No active agent {ref!r}.")
    tickets.assign(ticket, user, actor=None, via=context["via"])


def agents_with_role(role_key: str) -> list[User]:
    return list(db.session.scalars(
        select(User).join(User.roles).where(Role.key == role_key, User.kind == "agent",
                                            User.is_active.is_(True)).order_by(User.id)))


def next_in_turn(role_key: str) -> User:
    """The agent of ``role_key`` after the one who got the last ticket of the pool.

    The pool's row is read ``FOR UPDATE`` (PostgreSQL) inside the assigning
    transaction (SQLite runs one writer at a time), so concurrent processes take
    turns and never hand two tickets to the same agent out of turn."""
    from sqlalchemy.exc import IntegrityError

    from kernel.services.uow import unit_of_work
    from plugins.triggers.models import RoundRobin

    agents = agents_with_role(role_key)
    if not agents:
        raise ActionFailed(f"No active agent has the role {role_key!r}.")
    key = f"role:{role_key}"

    def locked():
        return db.session.scalar(select(RoundRobin).where(RoundRobin.key == key)
                                 .with_for_update().execution_options(populate_existing=True))

    row = locked()
    if row is None:
        try:
            with unit_of_work():
                db.session.add(RoundRobin(key=key, last_user_id=None, updated_at=utcnow()))
        except IntegrityError:  # another process made it first
            pass
        row = locked()
    ids = [a.id for a in agents]
    last = row.last_user_id
    chosen = next((i for i in ids if last is None or i > last), ids[0])
    row.last_user_id, row.updated_at = chosen, utcnow()
    db.session.flush()
    return next(a for a in agents if a.id == chosen)


def assign_round_robin(ticket, event, params, context) -> None:
    from kernel.services import tickets

    tickets.assign(ticket, next_in_turn(params["role"]), actor=None, via=context["via"])


def add_note(ticket, event, params, context) -> None:
    from kernel.services import messages

    internal = params.get("internal")
    messages.post(ticket, render(params["body"], ticket, event, context["rule_name"]),
                  actor=None, internal=True if internal is None else bool(internal),
                  via=context["via"])


# -- notifications ------------------------------------------------------------------------


def _customer_locale(ticket: Ticket) -> str:
    customer = customer_of(ticket)
    accounts = customer.accounts if customer is not None else []
    return next((a.locale for a in accounts if a.locale), None) or _default_locale()


def email_recipients(ticket: Ticket, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[(address, locale)]`` for the ``to`` of a ``triggers.email`` action."""
    to = params["to"]
    if to == "customer":
        customer = customer_of(ticket)
        if customer is None:
            return []
        address = (customer.emails[0].email if customer.emails
                   else next((a.email for a in customer.accounts), None))
        return [(address, _customer_locale(ticket))] if address else []
    if to == "assignee":
        user = assignee_of(ticket)
        return [(user.email, user.locale or _default_locale())] if user else []
    if to == "agents":
        found = []
        for ref in params.get("agents") or []:
            user = _agent(ref)
            if user is None:
                raise ActionFailed(f"No active agent {ref!r}.")
            found.append((user.email, user.locale or _default_locale()))
        return list(dict.fromkeys(found))
    return [(params["address"], params.get("locale") or _default_locale())]


def email(ticket, event, params, context) -> None:
    _need_channel(EMAIL_CHANNEL, "E-mail")
    recipients = email_recipients(ticket, params)
    if not recipients:
        raise Skipped(f"No e-mail address for {params['to']!r}.")
    rule = context["rule_name"]
    reader = _reader(ticket, params["to"] == "customer")
    for address, locale in recipients:
        subject = render(_localized(params["subject"], locale), ticket, event, rule, reader)
        body = render(_localized(params["body"], locale), ticket, event, rule, reader)
        payload = {"subject": subject, "body": body, "locale": locale,
                   "html": "<p>" + html.escape(body).replace("\n", "<br>\n") + "</p>",
                   "ticket_id": ticket.id, "rule": rule}
        outbox.put(EMAIL_CHANNEL, address, payload,
                   key=_key(context, address, many=len(recipients) > 1),
                   ref=f"ticket:{ticket.id}")


def _reader(ticket: Ticket, to_customer: bool) -> Any:
    """Who reads what an action sends: the ticket's customer (through the kernel's
    visibility policy) or staff (``None``: everything)."""
    if not to_customer:
        return None
    from kernel import visibility

    return visibility.customer_reader(ticket)


def sms_number(ticket: Ticket, params: Mapping[str, Any]) -> str | None:
    if params["to"] == "phone":
        return params["phone"]
    customer = customer_of(ticket)
    if customer is not None and customer.phones:
        return customer.phones[0].number
    from kernel import fieldset

    for field in fieldset.for_type(ticket.type):
        if field.type == "phone" and ticket.value(field.key):
            return ticket.value(field.key)
    return None


def sms(ticket, event, params, context) -> None:
    _need_channel(SMS_CHANNEL, "SMS")
    number = sms_number(ticket, params)
    if not number:
        raise Skipped("The ticket's customer has no phone.")
    text = render(params["text"], ticket, event, context["rule_name"],
                  _reader(ticket, params["to"] != "phone"))
    outbox.put(SMS_CHANNEL, number, {"subject": "", "body": text, "ticket_id": ticket.id,
                                     "rule": context["rule_name"]},
               key=_key(context), ref=f"ticket:{ticket.id}")


def http_payload(ticket: Ticket, event: Any, rule_name: str) -> dict[str, Any]:
    return {
        "rule": rule_name,
        "event": {"id": getattr(event, "id", None), "kind": getattr(event, "kind", ""),
                  "data": getattr(event, "data", None) or {}, "via": getattr(event, "via", None)},
        "ticket": {"id": ticket.id, "number": ticket.number, "type": ticket.type.key,
                   "status": ticket.status.key, "status_group": ticket.status.group,
                   "subject": ticket.subject, "customer_id": ticket.customer_id,
                   "assignee_id": ticket.assignee_id, "values": dict(ticket.values or {})},
    }


def webhook(ticket, event, params, context) -> None:
    _need_channel(HTTP_CHANNEL, "Webhook")
    data = http_payload(ticket, event, context["rule_name"])
    if params.get("payload"):
        data["extra"] = params["payload"]
    outbox.put(HTTP_CHANNEL, params["url"],
               {"subject": "", "body": "", "data": data, "secret": params.get("secret") or ""},
               key=_key(context), ref=f"ticket:{ticket.id}")


# -- a linked ticket -----------------------------------------------------------------------


def create_linked_ticket(ticket, event, params, context) -> None:
    from kernel.services import links, tickets

    values = _render_values(params.get("values") or {}, ticket, event, context["rule_name"])
    for key in params.get("copy_fields", ["customer"]) or []:
        if key not in values and ticket.value(key) is not None:
            value = ticket.value(key)
            values[key] = value.isoformat() if hasattr(value, "isoformat") else value
    new = tickets.create(values, actor=None, type=params["type"], via=context["via"])
    links.link(ticket, new, params.get("link_kind") or "related", actor=None, via=context["via"])


# -- declarations --------------------------------------------------------------------------

_TEXT_OR_LOCALES = N_("Text, or {\"ru\": ..., \"en\": ...} by the recipient's language; "
                      "placeholders like {{ticket.number}}.")

ACTIONS = [
    d.TriggerActionDecl("triggers.set_fields", N_("Set fields"), set_fields, params=[
        d.FieldDecl("values", "json", N_("Field values"), required=True,
                    help_text=N_("{\"field key\": value, ...}; text may use placeholders.")),
    ]),
    d.TriggerActionDecl("triggers.set_status", N_("Set status"), set_status, params=[
        d.FieldDecl("status", "text", N_("Status key"), required=True,
                    help_text=N_("Must be an allowed next status in the ticket's pipeline; "
                                 "a refused move is logged, the triggering change stands.")),
        d.FieldDecl("comment", "text", N_("Comment")),
    ]),
    d.TriggerActionDecl("triggers.assign", N_("Assign to an agent"), assign, params=[
        d.FieldDecl("agent", "text", N_("Agent (id or e-mail); empty: unassign")),
    ]),
    d.TriggerActionDecl("triggers.assign_round_robin",
                        N_("Assign in turn to the agents of a role"), assign_round_robin,
                        params=[d.FieldDecl("role", "text", N_("Role key"), required=True)]),
    d.TriggerActionDecl("triggers.add_note", N_("Add a note"), add_note, params=[
        d.FieldDecl("body", "long_text", N_("Text"), required=True),
        d.FieldDecl("internal", "flag", N_("Internal (default); off: visible to the customer")),
    ]),
    d.TriggerActionDecl("triggers.email", N_("Send an e-mail"), email, side_effect=True, params=[
        d.FieldDecl("to", "choice", N_("To"), required=True,
                    choices=[("customer", N_("The customer")), ("assignee", N_("The assignee")),
                             ("agents", N_("Chosen agents")), ("address", N_("An address"))]),
        d.FieldDecl("agents", "json", N_("Agents (ids or e-mails) when to is agents")),
        d.FieldDecl("address", "email", N_("Address when to is address")),
        d.FieldDecl("locale", "text", N_("Language for an address (ru, en)")),
        d.FieldDecl("subject", "json", N_("Subject"), required=True, help_text=_TEXT_OR_LOCALES),
        d.FieldDecl("body", "json", N_("Text"), required=True, help_text=_TEXT_OR_LOCALES),
    ]),
    d.TriggerActionDecl("triggers.sms", N_("Send an SMS"), sms, side_effect=True,
                        available=lambda: channel_ready(SMS_CHANNEL), params=[
        d.FieldDecl("to", "choice", N_("To"), required=True,
                    choices=[("customer", N_("The customer's phone")),
                             ("phone", N_("A number"))]),
        d.FieldDecl("phone", "phone", N_("Number when to is phone")),
        d.FieldDecl("text", "long_text", N_("Text"), required=True),
    ]),
    d.TriggerActionDecl("triggers.webhook", N_("Call a webhook (POST JSON)"), webhook,
                        side_effect=True, params=[
        d.FieldDecl("url", "text", N_("URL (http or https)"), required=True),
        d.FieldDecl("payload", "json", N_("Extra JSON sent as \"extra\"")),
        d.FieldDecl("secret", "text", N_("Secret to sign the body (X-Hookdesk-Signature)")),
    ]),
    d.TriggerActionDecl("triggers.create_linked_ticket", N_("Create a linked ticket"),
                        create_linked_ticket, params=[
        d.FieldDecl("type", "text", N_("Ticket type key"), required=True),
        d.FieldDecl("values", "json", N_("Field values of the new ticket")),
        d.FieldDecl("copy_fields", "json",
                    N_("Field keys copied from this ticket (default: [\"customer\"])")),
        d.FieldDecl("link_kind", "choice", N_("Link kind"),
                    choices=[(k, k) for k in ("related", "converted_to", "duplicate_of",
                                              "parent_of", "continues")]),
    ]),
]
