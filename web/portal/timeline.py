"""A ticket's history as the customer reads it (P5, K6): one human sentence per
event, in the reader's language.

What the customer may see is decided by the kernel's visibility policy
(``kernel.visibility.history``): internal notes and files, hidden fields, agents'
transition comments, links to tickets they may not view and staff-only plugin
events never reach this module. It only renders what the policy returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from kernel import fieldset, runtime, visibility
from kernel.models import Ticket, User
from web import history_lines, i18n
from web.forms import display_value


@dataclass
class Entry:
    """One line of the history: when, who, what (and the field changes under it)."""

    at: datetime
    who: str
    text: str
    kind: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # label, old, new
    note: str = ""  # a comment support meant for the customer


def _who(event: visibility.EventView, viewer: User) -> str:
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
    visible = {f.key: f for f in visibility.visible_fields(ticket.type, viewer)}
    kinds = runtime.host().registry.event_kinds
    entries: list[Entry] = []
    for event in visibility.history(ticket, viewer):
        data = event.data
        kind = event.kind
        entry = Entry(event.at, _who(event, viewer), "", kind)
        if kind == "created":
            entry.text = _("Ticket %(number)s created", number=data.get("number") or ticket.number)
        elif kind == "status_changed":
            entry.text = _("Status changed from %(old)s to %(new)s",
                           old=_status_name(ticket, data.get("from")),
                           new=_status_name(ticket, data.get("to")))
            if data.get("comment"):  # only a comment meant for the customer is here
                entry.note = str(data["comment"])
        elif kind == "fields_changed":
            entry.changes = [(c.label, c.old, c.new)
                             for c in history_lines.field_changes(ticket, viewer, data, visible)]
            if not entry.changes:
                continue
            entry.text = _("Details changed")
        elif kind == "assigned":
            if "to" not in data:
                entry.text = _("A manager is working on the ticket")
            elif data.get("to") is None:
                continue
            elif data.get("from") is None:
                entry.text = _("Manager: %(name)s",
                               name=_shown(visible["assignee"], data.get("to"), ticket, viewer))
            else:
                entry.text = _("Manager: %(old)s → %(new)s",
                               old=_shown(visible["assignee"], data.get("from"), ticket, viewer),
                               new=_shown(visible["assignee"], data.get("to"), ticket, viewer))
        elif kind == "message_posted":
            entry.text = (_("Message from the customer") if data.get("author_kind") == "customer"
                          else _("Reply from support"))
        elif kind == "attachment_added":
            entry.text = _("File attached: %(name)s", name=data.get("filename") or "")
        elif kind == "linked":
            entry.text = _("Linked to ticket %(number)s",
                           number=data.get("target") or data.get("source") or "")
        else:
            declared = kinds.get(kind)
            if declared is None or declared.decl.audience != "customer":
                continue  # a plugin's staff-only kind (an SMS log, a call)
            entry.text = i18n.translate_label(declared.decl.label)
        entries.append(entry)
    return entries

