"""What a history event changed, as a person reads it (K6): each field's old and
new value formatted by its type in the reader's language — a date as a date, a
choice by its label, a flag as Yes/No, a reference by its name — and the
assignment as "from → to". The agents' card, the customer's card and the API
history all use these lines.

Only an event the visibility policy already filtered (``kernel.visibility.history``)
comes in here: a field the viewer may not see is not in its ``changes``; the
lines also skip a key that is not a visible field of the ticket's type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from kernel import fieldset, visibility
from kernel.db import get_by_id
from kernel.models import Ticket, User
from web import i18n
from web.forms import display_value

EMPTY = "—"


@dataclass(frozen=True)
class Change:
    """One field's change: its key, its label and both values, as text."""

    key: str
    label: str
    old: str
    new: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.key, "label": self.label, "old": self.old, "new": self.new}


def _text(definition: fieldset.Field, value: Any, ticket: Ticket, viewer: User) -> str:
    shown = display_value(definition, value, ticket, viewer)
    return EMPTY if shown.empty else shown.text


def field_changes(ticket: Ticket, viewer: User, data: dict[str, Any],
                  visible: dict[str, fieldset.Field] | None = None) -> list[Change]:
    """The changes of a ``fields_changed`` event's ``data``, in the fields' order."""
    if visible is None:
        visible = {f.key: f for f in visibility.visible_fields(ticket.type, viewer)}
    found: list[tuple[int, Change]] = []
    for key, pair in (data.get("changes") or {}).items():
        definition = visible.get(key)
        if definition is None or not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        found.append((definition.order, Change(
            key, i18n.translate_label(definition.label),
            _text(definition, pair[0], ticket, viewer), _text(definition, pair[1], ticket, viewer),
        )))
    found.sort(key=lambda item: (item[0], item[1].key))
    return [change for _order, change in found]


def person(user_id: Any, nobody: str | None = None) -> str:
    """An agent's (or anyone's) name by id; ``nobody`` (default "Nobody") for none."""
    if user_id is None:
        return nobody if nobody is not None else _("Nobody")
    user = get_by_id(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        return f"#{user_id}"
    return user.name or user.email or f"#{user_id}"


def assignment(data: dict[str, Any]) -> Change | None:
    """An ``assigned`` event as "Assignee: A → B", or ``None`` when the viewer may
    not know who (the policy left no ``to``)."""
    if "to" not in data:
        return None
    return Change("assignee", _("Assignee"), person(data.get("from")), person(data.get("to")))


def lines(ticket: Ticket, viewer: User, event: visibility.EventView,
          visible: dict[str, fieldset.Field] | None = None) -> list[Change]:
    """The changes one event shows: fields for ``fields_changed``, the assignee
    for ``assigned``, nothing for other kinds."""
    if event.kind == "fields_changed":
        return field_changes(ticket, viewer, event.data, visible)
    if event.kind == "assigned":
        change = assignment(event.data)
        return [change] if change is not None else []
    return []


def for_history(ticket: Ticket, viewer: User,
                events: list[visibility.EventView]) -> dict[int, list[Change]]:
    """``{event id: its changes}`` for every event that has some."""
    visible = {f.key: f for f in visibility.visible_fields(ticket.type, viewer)}
    found = {}
    for event in events:
        changes = lines(ticket, viewer, event, visible)
        if changes:
            found[event.id] = changes
    return found
