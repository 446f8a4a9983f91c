"""Who sees what of a ticket: one policy for every door (X4, X5, A3, K7, K8).

The portal, the agent pages, the REST API, letters, webhook payloads and ticket
lists never decide on their own what of a ticket a person may read: they render
what this module returns.

A **viewer** is a :class:`~kernel.models.User` (a customer or an agent), ``None``
(the system itself: the CLI, an admin's webhook, a rule — it sees everything),
or a :class:`Reader` for someone who reads without signing in (the ticket's
customer getting a letter: :func:`customer_reader`).

What the policy decides:

* **fields** (:func:`visible_fields`, :func:`ticket_values`): customers see the
  fields whose definition says ``shown_to_customer`` (the deployment may change
  that per field, P7); agents see every field except the customer without
  "can see customers" (A3);
* **history** (:func:`history`, :func:`event_view`): each event filtered for the
  viewer — changes of fields they may not see are left out (an event with no
  change left is dropped), a transition's comment is the agents' working note
  unless the event says ``comment_public``, internal notes and internal files
  are seen only by agents allowed to read internal notes, a link only by those
  who may view the other ticket, and a plugin's event kind only by the audience
  its ``EventKindDecl`` declares;
* **messages and files** (:func:`sees_internal`, :func:`message_clause`,
  :func:`attachment_clause`): internal notes and files only for agents with
  ``tickets.note``;
* **links** (:func:`links`): only to tickets the viewer may also view;
* **card panels** (:func:`panels`): a ``Panel(audience="staff")`` never reaches
  a customer;
* **lists** (:func:`check_list_query`): a customer may sort and filter only by
  what they may see (plugins' filters declared ``audience="customer"``);
  anything else is refused naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import true

from kernel import fieldset, permissions, runtime
from kernel.db import get_by_id
from kernel.errors import ValidationFailed
from kernel.models import Attachment, Message, Ticket, TicketEvent, TicketLink, TicketType, User

STAFF = "staff"
CUSTOMER = "customer"
AUDIENCES = (STAFF, CUSTOMER)

# The kernel's own event kinds, filtered by the rules below (never dropped as a kind).
KERNEL_KINDS = frozenset({"created", "fields_changed", "status_changed", "assigned",
                          "message_posted", "attachment_added", "linked"})

# Ticket attributes that are fields (K4): shown only when the field is visible.
FIELD_ATTRIBUTES = {"subject": "subject", "text": "text", "priority": "priority",
                    "queue": "queue", "urgent": "urgent", "deadline": "deadline",
                    "location": "location", "customer": "customer_id",
                    "assignee": "assignee_id"}
# Attributes that are not fields: customers do not see who typed a ticket in.
STAFF_ATTRIBUTES = frozenset({"author_id"})
# What a customer always reads of their own ticket: whose it is (their own id).
OWN_ATTRIBUTES = frozenset({"customer_id"})

# List sort keys (``queries.SORTABLE``) that are fields; the others (number,
# status, created_at, updated_at) every viewer of the list may use.
SORT_FIELDS = {"deadline": "deadline", "subject": "subject", "priority": "priority",
               "queue": "queue", "urgent": "urgent", "assignee": "assignee",
               "customer": "customer"}


@dataclass(frozen=True)
class Reader:
    """Someone who reads without an account of their own here: the ticket's
    customer reading a letter sent to their address. Reads as a customer of
    ``customer_id`` would."""

    customer_id: int | None
    id: None = None
    is_active: bool = True
    is_customer: bool = True
    is_agent: bool = False
    roles: tuple = ()


Viewer = User | Reader | None


def customer_reader(ticket: Ticket) -> Reader:
    """The ticket's customer as a reader of letters (whatever address they use)."""
    return Reader(customer_id=ticket.customer_id)


def is_customer(viewer: Viewer) -> bool:
    return viewer is not None and bool(viewer.is_customer)


def audience_of(viewer: Viewer) -> str:
    """``"customer"`` or ``"staff"`` (the system reads as staff)."""
    return CUSTOMER if is_customer(viewer) else STAFF


def _has(viewer: Viewer, permission: str) -> bool:
    if isinstance(viewer, Reader):
        return permission in permissions.CUSTOMER_PERMISSIONS
    return permissions.has(viewer, permission)


def can_view(viewer: Viewer, ticket: Ticket | None) -> bool:
    """May ``viewer`` open ``ticket`` at all (its card, its API resource)?"""
    if ticket is None:
        return False
    if isinstance(viewer, Reader):
        return viewer.customer_id is not None and ticket.customer_id == viewer.customer_id
    return permissions.can_view_ticket(viewer, ticket)


def sees_internal(viewer: Viewer) -> bool:
    """Internal notes and internal files: agents with ``tickets.note`` (and the system)."""
    return viewer is None or (not is_customer(viewer) and _has(viewer, "tickets.note"))


def sees_customers(viewer: Viewer) -> bool:
    """A3: customers' data (the customer field, owners) needs "can see customers"."""
    return viewer is None or (not is_customer(viewer) and _has(viewer, "customers.view"))


def sees_customer_of(ticket: Ticket, viewer: Viewer) -> bool:
    """May ``viewer`` read the ticket's customer record (name, phones, e-mails)?
    Staff who see customers; a customer only their own record."""
    if ticket.customer_id is None:
        return False
    if isinstance(viewer, Reader) or is_customer(viewer):
        return getattr(viewer, "customer_id", None) == ticket.customer_id
    return sees_customers(viewer)


def may_see(audience: str, viewer: Viewer) -> bool:
    """Is something declared for ``audience`` (``staff``/``customer``) visible to ``viewer``?"""
    if audience not in AUDIENCES:
        return False
    return audience == CUSTOMER or not is_customer(viewer)


# -- fields ---------------------------------------------------------------------------


def visible_fields(ticket_type: TicketType, viewer: Viewer) -> list[fieldset.Field]:
    """The fields of ``ticket_type`` ``viewer`` may read, in form order."""
    if is_customer(viewer):
        return fieldset.for_type(ticket_type, "customer_view")
    found = fieldset.for_type(ticket_type, "agent")
    if not sees_customers(viewer):
        found = [f for f in found if f.key != "customer"]
    return found


def field_keys(ticket_type: TicketType, viewer: Viewer) -> set[str]:
    return {f.key for f in visible_fields(ticket_type, viewer)}


def ticket_values(ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    """``{field key: stored value}`` of every field ``viewer`` may read."""
    keys = field_keys(ticket.type, viewer)
    values = {k: v for k, v in (ticket.values or {}).items() if k in keys}
    for key, attribute in FIELD_ATTRIBUTES.items():
        if key in keys:
            values[key] = getattr(ticket, attribute)
    return values


def ticket_attributes(ticket: Ticket, viewer: Viewer) -> set[str]:
    """Names of the ticket's attributes (``assignee_id``, ``location``...) that are
    fields or staff-only and that ``viewer`` may read."""
    keys = field_keys(ticket.type, viewer)
    shown = {attr for key, attr in FIELD_ATTRIBUTES.items() if key in keys}
    if not is_customer(viewer):
        shown |= STAFF_ATTRIBUTES
    else:
        shown |= OWN_ATTRIBUTES
    return shown


# -- history --------------------------------------------------------------------------


@dataclass
class EventView:
    """One history event as a viewer may read it: ``data`` is a filtered copy."""

    id: int
    at: datetime
    kind: str
    actor_id: int | None
    via: str | None
    data: dict[str, Any]
    event: TicketEvent = field(repr=False)

    @property
    def actor(self) -> User | None:
        return self.event.actor


def history(ticket: Ticket, viewer: Viewer,
            events: Sequence[TicketEvent] | None = None) -> list[EventView]:
    """The ticket's history (oldest first) as ``viewer`` may read it."""
    from kernel.services import history as history_service

    rows = history_service.for_ticket(ticket) if events is None else events
    context = _Context(ticket, viewer)
    found = []
    for row in rows:
        view = context.view(row)
        if view is not None:
            found.append(view)
    return found


def event_view(event: TicketEvent, ticket: Ticket, viewer: Viewer) -> EventView | None:
    """One event as ``viewer`` may read it, or ``None`` if they may not see it at all."""
    return _Context(ticket, viewer).view(event)


class _Context:
    """What the rules need about one ticket and one viewer, computed once."""

    def __init__(self, ticket: Ticket, viewer: Viewer):
        self.ticket = ticket
        self.viewer = viewer
        self.customer = is_customer(viewer)
        self.keys = field_keys(ticket.type, viewer)
        self.internal = sees_internal(viewer)
        self.kinds = runtime.host().registry.event_kinds
        self._hidden: tuple[set[int], set[int], set[int]] | None = None

    def hidden(self) -> tuple[set[int], set[int], set[int]]:
        """Ids of the ticket's internal messages, internal files and all its files:
        read once (two queries) however long the history is."""
        if self._hidden is None:
            from kernel.db import db

            notes = set(db.session.scalars(db.select(Message.id).where(
                Message.ticket_id == self.ticket.id, Message.internal.is_(True))))
            files = db.session.execute(db.select(Attachment.id, Attachment.internal).where(
                Attachment.ticket_id == self.ticket.id)).all()
            self._hidden = (notes, {i for i, internal in files if internal},
                            {i for i, _internal in files})
        return self._hidden

    def view(self, event: TicketEvent) -> EventView | None:
        data = self.data(event.kind, dict(event.data or {}))
        if data is None:
            return None
        return EventView(event.id, event.at, event.kind, event.actor_id, event.via, data,
                         event)

    def data(self, kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
        if self.viewer is None:
            return data
        if kind not in KERNEL_KINDS:
            declared = self.kinds.get(kind)
            audience = getattr(declared.decl, "audience", STAFF) if declared else STAFF
            return data if may_see(audience, self.viewer) else None
        rule = getattr(self, f"_{kind}")
        return rule(data)

    def _created(self, data):
        if isinstance(data.get("values"), dict):
            data["values"] = {k: v for k, v in data["values"].items() if k in self.keys}
        return data

    def _fields_changed(self, data):
        changes = data.get("changes")
        if not isinstance(changes, dict):
            return None
        kept = {k: v for k, v in changes.items() if k in self.keys}
        if not kept:
            return None
        data["changes"] = kept
        return data

    def _status_changed(self, data):
        if self.customer and not data.get("comment_public"):
            data.pop("comment", None)
        if self.customer:
            data.pop("comment_public", None)
        return data

    def _assigned(self, data):
        if "assignee" in self.keys:
            return data
        if data.get("to") is None:
            return None  # nothing to tell without saying who
        return {}

    def _message_posted(self, data):
        if self.internal:
            return data
        if data.get("internal") or data.get("message_id") in self.hidden()[0]:
            return None
        return data

    def _attachment_added(self, data):
        if self.internal:
            return data
        _notes, internal_files, files = self.hidden()
        ident = data.get("attachment_id")
        if data.get("internal") or ident in internal_files or ident not in files:
            return None
        return data

    def _linked(self, data):
        other_id = data.get("source_id") if data.get("incoming") else data.get("target_id")
        other = get_by_id(Ticket, other_id)
        if other is None or not can_view(self.viewer, other):
            return None
        return data


# -- messages, files, links -----------------------------------------------------------


def can_see_message(message: Message, viewer: Viewer) -> bool:
    return not message.internal or sees_internal(viewer)


def can_see_attachment(attachment: Attachment, viewer: Viewer) -> bool:
    """The file itself (the ticket is checked by the caller)."""
    if attachment.internal and not sees_internal(viewer):
        return False
    message = attachment.message
    return message is None or can_see_message(message, viewer)


def message_clause(viewer: Viewer):
    """A WHERE condition on ``Message`` for what ``viewer`` may read of a thread."""
    return true() if sees_internal(viewer) else Message.internal.is_(False)


def attachment_clause(viewer: Viewer):
    """A WHERE condition on ``Attachment`` for the files ``viewer`` may read."""
    return true() if sees_internal(viewer) else Attachment.internal.is_(False)


def links(ticket: Ticket, viewer: Viewer, found: Iterable[TicketLink] | None = None
          ) -> list[TicketLink]:
    """Links of ``ticket`` whose other end ``viewer`` may also view."""
    from kernel.services import links as links_service

    rows = links_service.links_of(ticket) if found is None else found
    return [row for row in rows
            if can_view(viewer, row.target if row.source_id == ticket.id else row.source)]


# -- what plugins add -----------------------------------------------------------------


def panels(found: Iterable[Any], viewer: Viewer) -> list[Any]:
    """Card panels (``declarations.Panel``) ``viewer`` may see: a panel whose
    ``audience`` is ``"staff"`` (or unknown) never reaches a customer."""
    return [p for p in found if may_see(getattr(p, "audience", STAFF), viewer)]


# -- lists ----------------------------------------------------------------------------


def list_field_keys(viewer: Viewer) -> set[str]:
    """Keys of fields ``viewer`` may see on some ticket type (list columns)."""
    if viewer is None:
        return {f.key for f in fieldset.all_fields()}
    if is_customer(viewer):
        return {f.key for f in fieldset.all_fields() if f.shown_to_customer}
    keys = {f.key for f in fieldset.all_fields()}
    if not sees_customers(viewer):
        keys.discard("customer")
    return keys


def _sort_field(column: str) -> str | None:
    """The field a sort key reads: ``SORT_FIELDS``, or the field of that key (a
    plugin or custom field sorted by its value); None for number, status, dates."""
    if column in SORT_FIELDS:
        return SORT_FIELDS[column]
    return column if fieldset.get(column) is not None else None


def sortable(viewer: Viewer, candidates: Iterable[str]) -> set[str]:
    """The sort keys among ``candidates`` ``viewer`` may use."""
    keys = list_field_keys(viewer)
    found = set()
    for candidate in candidates:
        key = _sort_field(candidate)
        if key is None or key in keys:
            found.add(candidate)
    return found


def check_list_query(viewer: Viewer, flt: Any, sort: str) -> None:
    """Refuse (``ValidationFailed`` naming the parameter) a sort or a filter of a
    ticket list by something ``viewer`` may not see."""
    keys = list_field_keys(viewer)
    errors: dict[str, str] = {}
    column = (sort or "").lstrip("-")
    sorted_by = _sort_field(column)
    if sorted_by is not None and sorted_by not in keys:
        errors["sort"] = f"You cannot sort by {column!r}: you do not see that field."
    filters = {"assignee_id": ("assignee", flt.assignee_id is not None),
               "customer_id": ("customer", flt.customer_id is not None),
               "queue": ("queue", bool(flt.queue)),
               "urgent": ("urgent", flt.urgent is not None),
               "overdue": ("deadline", bool(flt.overdue))}
    for param, (key, used) in filters.items():
        if used and key not in keys:
            errors[param] = f"You cannot filter by {param!r}: you do not see that field."
    known = {f.key for f in fieldset.all_fields()} if flt.values else set()
    for key in flt.values:
        # A key that is no field matches nothing; a customer is told either way.
        if key not in keys and (key in known or is_customer(viewer)):
            errors[f"values.{key}"] = f"You cannot filter by {key!r}: you do not see that field."
    declared = runtime.host().registry.ticket_filters
    for key in flt.extra:
        entry = declared.get(key)
        if entry is not None and not may_see(getattr(entry.decl, "audience", STAFF), viewer):
            errors[f"filter.{key}"] = f"You cannot filter by {key!r}: it is for staff."
    if errors:
        raise ValidationFailed(errors)
