"""A ticket's history as the customer reads it (P5, K6): one human sentence per
event, in the reader's language, without what a customer must not see
(internal notes and their files, hidden fields, links to other tickets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from kernel import fieldset, runtime
from kernel.db import get_by_id
from kernel.models import Attachment, Ticket, TicketEvent, User
from kernel.services import history
from web import i18n
from web.forms import display_value

# Kinds a customer never sees: links may name other customers' tickets.
HIDDEN_KINDS = frozenset({"linked"})


@dataclass
class Entry:
    """One line of the history: when, who, what (and the field changes under it)."""

    at: datetime
    who: str
    text: str
    kind: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # label, old, new


def _who(event: TicketEvent, viewer: User) -> str:
    if event.actor_id is not None and event.actor_id == viewer.id:
        return _("You")
    actor = event.actor
    if actor is None:
        return _("Support")  # the system, an automatic rule, an integration
    if actor.is_customer:
        return actor.name or _("Customer")
    return actor.name or _("Support")


def _status_name(ticket: Ticket, key: str | None) -> str:
    status = ticket.type.pipeline.status(key or "")
    return i18n.translate_label(status.name) if status is not None else str(key or "—")


def _shown(definition: fieldset.Field, value: Any, ticket: Ticket, viewer: User) -> str:
    shown = display_value(definition, value, ticket, viewer)
    return "—" if shown.empty else shown.text


def for_customer(ticket: Ticket, viewer: User) -> list[Entry]:
    """The history of ``ticket`` as ``viewer`` (a customer) may read it, oldest first."""
    visible = {f.key: f for f in fieldset.for_type(ticket.type, "customer_view")}
    kinds = runtime.host().registry.event_kinds
    entries: list[Entry] = []
    for event in history.for_ticket(ticket):
        data = event.data or {}
        kind = event.kind
        if kind in HIDDEN_KINDS:
            continue
        entry = Entry(event.at, _who(event, viewer), "", kind)
        if kind == "created":
            entry.text = _("Ticket %(number)s created", number=data.get("number") or ticket.number)
        elif kind == "status_changed":
            entry.text = _("Status changed from %(old)s to %(new)s",
                           old=_status_name(ticket, data.get("from")),
                           new=_status_name(ticket, data.get("to")))
            # A transition's comment is the agent's working note: not shown here.
        elif kind == "fields_changed":
            for key, pair in sorted((data.get("changes") or {}).items(),
                                    key=lambda kv: _order(visible, kv[0])):
                definition = visible.get(key)
                if definition is None or not isinstance(pair, list | tuple) or len(pair) != 2:
                    continue
                entry.changes.append((i18n.translate_label(definition.label),
                                      _shown(definition, pair[0], ticket, viewer),
                                      _shown(definition, pair[1], ticket, viewer)))
            if not entry.changes:
                continue
            entry.text = _("Details changed")
        elif kind == "assigned":
            if data.get("to") is None:
                continue
            if "assignee" in visible:
                entry.text = _("Manager: %(name)s",
                               name=_shown(visible["assignee"], data.get("to"), ticket, viewer))
            else:
                entry.text = _("A manager is working on the ticket")
        elif kind == "message_posted":
            if data.get("internal"):
                continue
            entry.text = (_("Message from the customer") if data.get("author_kind") == "customer"
                          else _("Reply from support"))
        elif kind == "attachment_added":
            attachment = get_by_id(Attachment, data.get("attachment_id"))
            if attachment is None or attachment.internal:
                continue
            entry.text = _("File attached: %(name)s", name=attachment.filename)
        else:
            declared = kinds.get(kind)
            if declared is None or declared.decl.audience != "customer":
                continue  # a plugin's staff-only kind (an SMS log, a call)
            entry.text = i18n.translate_label(declared.decl.label)
        entries.append(entry)
    return entries


def _order(visible: dict[str, fieldset.Field], key: str) -> tuple[int, str]:
    definition = visible.get(key)
    return (definition.order if definition is not None else 10**6, key)
