"""Tables of the auto-service plugin (prefix ``autoservice_``).

A contact and a service request are kernel tickets. Here live what the kernel
has no place for: the record of how a contact's category was decided and what
its outcome did (``ContactRecord``), and the dealer system's work orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow
from kernel.models import Customer

WORK_ORDER_STATUSES = ("open", "closed")


class ContactRecord(db.Model):
    """One row per contact: the automatic category with the rule that fired and
    its reason, whether the operator overrode it, and the outcome with what it made."""

    __tablename__ = "autoservice_contacts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    auto_category: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(32))
    # {"code": ..., "params": {...}}: rendered in the reader's language.
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    service_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"))
    continued_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WorkOrder(db.Model):
    """A work order (заказ-наряд) of the dealer management system."""

    __tablename__ = "autoservice_work_orders"
    __table_args__ = (Index("ix_autoservice_work_orders_customer_status", "customer_id",
                            "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    car_make: Mapped[str] = mapped_column(String(100), default="")
    car_model: Mapped[str] = mapped_column(String(100), default="")
    plate: Mapped[str] = mapped_column(String(20), default="")
    vin: Mapped[str] = mapped_column(String(17), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[Customer] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def car(self) -> str:
        return " ".join(p for p in (self.car_make, self.car_model) if p)
