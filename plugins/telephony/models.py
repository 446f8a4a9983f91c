"""Tables of the telephony plugin (prefix ``telephony_``).

A call is a record of its own, keyed by the provider and the provider's call id;
its customer (found by the kernel's normalized phones), agent and ticket are
references to kernel rows. Deliveries remember signed webhook requests already
seen, so a replay is refused. Extensions map agents to their internal numbers;
provider settings (with their secrets) live in their own table, not in the
kernel's settings page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow
from kernel.models import Customer, Ticket, User

DIRECTIONS = ("in", "out")
OUTCOMES = ("answered", "missed", "busy")


class Call(db.Model):
    """One phone call, merged from the provider's events whatever their order.

    ``started_at``/``answered_at``/``ended_at`` and ``disposition`` are the facts
    the events brought; ``outcome`` and ``duration`` are derived from them."""

    __tablename__ = "telephony_calls"
    __table_args__ = (UniqueConstraint("provider", "provider_call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_call_id: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(3), default="in")
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    # The outside party's number in E.164 (the caller of an incoming call), if valid.
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    extension: Mapped[str] = mapped_column(String(40), default="")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"),
                                                  index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disposition: Mapped[str] = mapped_column(String(40), default="")
    reported_duration: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20))
    recording_url: Mapped[str] = mapped_column(String(2000), default="")
    # The provider keeps a recording to fetch on demand (Zadarma).
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[Customer | None] = relationship(lazy="joined")
    agent: Mapped[User | None] = relationship(lazy="joined")
    ticket: Mapped[Ticket | None] = relationship(lazy="select")

    @property
    def state(self) -> str:
        """``ringing`` (not answered yet), ``talking`` or ``ended``."""
        if self.ended_at is not None:
            return "ended"
        return "talking" if self.answered_at is not None else "ringing"

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_url) or self.recorded

    @property
    def external_number(self) -> str:
        return self.from_number if self.direction == "in" else self.to_number


class Delivery(db.Model):
    """A webhook request already accepted: its fingerprint (the signature with its
    timestamp) is unique, so the same request sent again is refused."""

    __tablename__ = "telephony_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_call_id: Mapped[str] = mapped_column(String(200), default="")
    event: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Extension(db.Model):
    """An agent's internal number on the PBX: incoming calls answered there are
    the agent's, and click-to-call rings it first."""

    __tablename__ = "telephony_extensions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    extension: Mapped[str] = mapped_column(String(40), unique=True)

    user: Mapped[User] = relationship(lazy="joined")


class ProviderConfig(db.Model):
    """The connection settings of one adapter (``generic``, ``zadarma``, ``asterisk``),
    secrets included; shown to admins only on the plugin's own page, secrets never."""

    __tablename__ = "telephony_providers"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
