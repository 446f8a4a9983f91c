"""The ticket as an event saw it, for the dry run.

When the engine judges a rule it looks at the ticket right after the change
that made the event. The dry run is often asked about an older event: by then
the ticket has moved on, and judging today's ticket said "would fire" for a
rule that never fired. ``TicketAsOf`` undoes what the later events recorded
(field changes, status moves, assignments); ``EventAsOf`` tells the history
conditions the moment to count the customer's other tickets at
(``as_of``). Read-only: nothing here touches the session's objects.

What history does not keep stays as it is now: a plugin's own data (a claim's
defects) and a customer's attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kernel.db import db
from kernel.models import Status, Ticket, TicketEvent
from kernel.models.tickets import COLUMN_FIELDS

_ATTRIBUTE_FIELDS = {attr: key for key, attr in COLUMN_FIELDS.items()}


class EventAsOf:
    """A past event with ``as_of``: the moment conditions count other tickets at."""

    def __init__(self, event: Any) -> None:
        self._event = event
        self.as_of: datetime = event.at

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


class TicketAsOf:
    """``ticket`` as it was right after ``event``: reads fall through to the
    ticket, except what a later event changed."""

    def __init__(self, ticket: Ticket, event: Any, later: Iterable[TicketEvent]) -> None:
        self._ticket = ticket
        self._values: dict[str, Any] = {}
        status_key: str | None = None
        for change in sorted(later, key=lambda e: e.id, reverse=True):  # undo newest first
            data = change.data or {}
            if change.kind == "fields_changed":
                for key, pair in (data.get("changes") or {}).items():
                    if isinstance(pair, list | tuple) and len(pair) == 2:
                        self._values[key] = pair[0]
            elif change.kind == "status_changed" and data.get("from"):
                status_key = data["from"]
            elif change.kind == "assigned" and "from" in data:
                self._values["assignee"] = data["from"]
        self._status = ticket.status
        self._status_changed_at = ticket.status_changed_at
        self._closed_at = ticket.closed_at
        if status_key is not None and status_key != ticket.status.key:
            self._status = ticket.type.pipeline.status(status_key) or db.session.scalar(
                select(Status).where(Status.key == status_key).limit(1)) or ticket.status
            self._status_changed_at = _entered_at(ticket, event)
            self._closed_at = self._status_changed_at if self._status.is_closed else None
        self._updated_at = getattr(event, "at", None) or ticket.updated_at

    # - what the later events changed -
    @property
    def status(self) -> Status:
        return self._status

    @property
    def status_id(self) -> int:
        return self._status.id

    @property
    def status_changed_at(self) -> datetime:
        return self._status_changed_at

    @property
    def closed_at(self) -> datetime | None:
        return self._closed_at

    @property
    def updated_at(self) -> datetime:
        return self._updated_at

    @property
    def is_closed(self) -> bool:
        return self._status.is_closed

    @property
    def values(self) -> dict[str, Any]:
        own = {k: v for k, v in self._values.items() if k not in COLUMN_FIELDS}
        return {**(self._ticket.values or {}), **own}

    def value(self, key: str, default: Any = None) -> Any:
        if key in self._values:
            return self._values[key]
        return self._ticket.value(key, default)

    def typed_value(self, key: str, default: Any = None) -> Any:
        if key not in self._values:
            return self._ticket.typed_value(key, default)
        from plugins.triggers.conditions import to_moment

        value = self._values[key]
        moment = to_moment(value) if isinstance(value, str) else None
        return moment or value

    def __getattr__(self, name: str) -> Any:
        key = _ATTRIBUTE_FIELDS.get(name)
        if key is not None and key in self._values:
            return self._values[key]
        return getattr(self._ticket, name)


def _entered_at(ticket: Ticket, event: Any) -> datetime:
    """When the ticket entered the status it had at ``event``."""
    moved = db.session.scalar(
        select(TicketEvent.at).where(TicketEvent.ticket_id == ticket.id,
                                     TicketEvent.kind == "status_changed",
                                     TicketEvent.id <= event.id)
        .order_by(TicketEvent.id.desc()).limit(1))
    return moved or ticket.created_at


def as_event_saw_it(ticket: Ticket, event: Any) -> tuple[Any, Any]:
    """``(ticket, event)`` as the engine saw them when ``event`` was recorded; a
    stand-in event (no id) is judged on the ticket as it is now."""
    if getattr(event, "id", None) is None:
        return ticket, event
    later = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                  TicketEvent.id > event.id)).all()
    return TicketAsOf(ticket, event, later), EventAsOf(event)


def status_groups_at(tickets: Iterable[Ticket], moment: datetime
                     ) -> dict[int, tuple[str, datetime]]:
    """Each ticket's status group at ``moment`` and since when it was in it,
    from the status moves history keeps."""
    tickets = list(tickets)
    if not tickets:
        return {}
    moves: dict[int, list[TicketEvent]] = {}
    for move in db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_([t.id for t in tickets]),
                                      TicketEvent.kind == "status_changed")
            .order_by(TicketEvent.id)):
        moves.setdefault(move.ticket_id, []).append(move)
    result: dict[int, tuple[str, datetime]] = {}
    for ticket in tickets:
        own = moves.get(ticket.id, [])
        key = (own[0].data or {}).get("from") if own else ticket.status.key
        since = ticket.created_at
        for move in own:
            if move.at > moment:
                break
            key, since = (move.data or {}).get("to"), move.at
        status = ticket.type.pipeline.status(key) if key else None
        result[ticket.id] = ((status.group if status else ticket.status.group), since)
    return result
