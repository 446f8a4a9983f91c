"""Tables of the orders plugin (prefix ``orders_``). Orders and requests are kernel
tickets; what the kernel has no place for lives here: documents and links the
manager publishes (O5), notes with their "visible to the customer" switch (O6),
each order type's customer-edit preset (O7) and the public form's hits (O1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow
from kernel.models import Attachment, User


class Document(db.Model):
    """A file (a kernel attachment, stored internal so no kernel door shows it to
    the customer) published on an order's card; withdrawn ones stay for history."""

    __tablename__ = "orders_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attachment: Mapped[Attachment] = relationship(lazy="joined")
    published_by: Mapped[User | None] = relationship()

    @property
    def is_published(self) -> bool:
        return self.withdrawn_at is None


class Link(db.Model):
    """An external link (tracking, invoice, contract...) published on an order."""

    __tablename__ = "orders_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    published_by: Mapped[User | None] = relationship()

    @property
    def is_published(self) -> bool:
        return self.withdrawn_at is None


class Note(db.Model):
    """A manager's note on an order; ``visible`` shows it to the customer (O6).
    Every flip is a history event (``orders.note_shown`` / ``orders.note_hidden``)."""

    __tablename__ = "orders_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    visible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()


class TypeConfig(db.Model):
    """Per order type (O7): the details a customer may edit and in which stages."""

    __tablename__ = "orders_type_config"

    type_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    editable_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    editable_stages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FormHit(db.Model):
    """One post of the public request form from an address: the per-address limit."""

    __tablename__ = "orders_form_hits"
    __table_args__ = (Index("ix_orders_form_hits_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
