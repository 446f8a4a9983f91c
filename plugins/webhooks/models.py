"""Tables of the webhooks plugin (prefix ``webhooks_``); deliveries live in the
kernel's outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String
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
