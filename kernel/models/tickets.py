"""Tickets, their append-only event log, thread, attachments, links and numbering."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow
from kernel.models.people import Customer, User
from kernel.models.workflow import Status, TicketType

JSONType = JSON().with_variant(JSONB(), "postgresql")

PRIORITIES = ("low", "normal", "high", "critical")


class Ticket(db.Model):
    """Any request from a customer (K1). Plugin and custom field values live in
    ``values`` (validated against the field definitions); the attributes every
    helpdesk filters on are columns with indexes."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_type_status", "type_id", "status_id"),
        Index("ix_tickets_status_created", "status_id", "created_at"),
        # The portal's common list: one queue, newest first (docs/performance.md).
        Index("ix_tickets_queue_created", "queue", "created_at"),
        # "Mine" and a customer's "my tickets", newest first; the sorts lists offer
        # (kernel migration 0006, docs/performance.md).
        Index("ix_tickets_assignee_created", "assignee_id", "created_at"),
        Index("ix_tickets_customer_created", "customer_id", "created_at"),
        Index("ix_tickets_updated_at", "updated_at"),
        Index("ix_tickets_subject", "subject"),
        Index("ix_tickets_priority", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_types.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Bumped on every change: the API's ETag and optimistic-concurrency check.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    type: Mapped[TicketType] = relationship(lazy="joined")
    status: Mapped[Status] = relationship(lazy="joined")
    customer: Mapped[Customer | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])

    @property
    def is_closed(self) -> bool:
        return self.status.is_closed

    def value(self, key: str, default: Any = None) -> Any:
        """The value of a field, whether it lives in a column or in ``values``."""
        if key in COLUMN_FIELDS:
            return getattr(self, COLUMN_FIELDS[key])
        return (self.values or {}).get(key, default)

    def typed_value(self, key: str, default: Any = None) -> Any:
        """The value of a field as Python: where ``value()`` gives what the JSON
        column keeps (ISO text for ``date`` and ``datetime`` fields), this gives a
        ``date`` or an aware UTC ``datetime``. Column fields are typed already."""
        raw = self.value(key, default)
        if key in COLUMN_FIELDS:
            return raw
        from kernel import fieldset

        field = fieldset.get(key)
        return fieldset.python_value(field.type, raw) if field is not None else raw

    def __repr__(self) -> str:
        return f"<Ticket {self.number}>"


# Field keys whose values are ticket columns, and the column each maps to.
COLUMN_FIELDS = {
    "subject": "subject",
    "text": "text",
    "priority": "priority",
    "queue": "queue",
    "urgent": "urgent",
    "deadline": "deadline",
    "location": "location",
    "customer": "customer_id",
    "assignee": "assignee_id",
}


class TicketEvent(db.Model):
    """One row of a ticket's history (K6): who, when, what. Append-only: the ORM
    refuses to update or delete these rows (see ``kernel.services.history``)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when the change was made by something other than a person, e.g. "rule:Escalate".
    via: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
    ticket: Mapped[Ticket] = relationship()


class Message(db.Model):
    """The thread (K7): customer or agent messages; agent notes may be internal."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_kind: Mapped[str] = mapped_column(String(16))  # customer | agent | system
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", lazy="selectin", order_by="Attachment.id"
    )


class Attachment(db.Model):
    """Metadata of a stored file (K8); the bytes live on disk, addressed by sha256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[Message | None] = relationship(back_populates="attachments")


class TicketLink(db.Model):
    """A typed link between two tickets (related, converted_to, duplicate_of...)."""

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("source_id", "target_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="related")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    source: Mapped[Ticket] = relationship(foreign_keys=[source_id])
    target: Mapped[Ticket] = relationship(foreign_keys=[target_id])


class NumberCounter(db.Model):
    """The last number handed out for one rendered numbering prefix (K5).

    Incremented inside the transaction that creates the ticket, so a refused or
    rolled-back creation returns its number: numbers stay gap-free."""

    __tablename__ = "number_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
