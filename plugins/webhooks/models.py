"""Tables of the webhooks plugin (prefix ``webhooks_``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import UTCDateTime, db, utcnow


class Endpoint(db.Model):
    """A URL an admin registered, the event kinds it wants (``["*"]``: all) and
    the secret its deliveries are signed with."""

    __tablename__ = "webhooks_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def wants(self, kind: str) -> bool:
        return self.is_active and ("*" in self.events or kind in self.events)


class Delivery(db.Model):
    """One event for one endpoint: the outbox row and its delivery log.

    Written in the transaction of the change (so it is never lost), delivered
    by the job queue after commit. ``key`` is the idempotency key receivers see
    in ``X-Hookdesk-Delivery``; it is unique, so an event is queued once."""

    __tablename__ = "webhooks_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks_endpoints.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
