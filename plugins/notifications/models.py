"""Tables of the notifications plugin (prefix ``notifications_``); the letters
themselves live in the kernel's outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import UTCDateTime, db, utcnow


class Preference(db.Model):
    """An employee's choice (A5): notify ``user`` of ``event`` by ``channel``?
    No row means the default of ``plugins.notifications.service.AGENT_EVENTS``."""

    __tablename__ = "notifications_preferences"
    __table_args__ = (UniqueConstraint("user_id", "event", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(64), default="email")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class DeadlineNotice(db.Model):
    """"The deadline passed" was handled for this ticket and this deadline: a
    unique row claimed before the letter is written, so two scans never send it
    twice, and a new deadline arms it again."""

    __tablename__ = "notifications_deadline_notices"
    __table_args__ = (UniqueConstraint("ticket_id", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rule(db.Model):
    """An administrator's choice for others (A5): notify ``target`` — every
    employee of a role (``role:<key>``) or one employee (``user:<id>``) — of
    ``event`` by ``channel``, or not. A rule for the employee outranks their
    roles' rules; among roles "on" wins. Employees may still turn off what a rule
    turns on for them (their ``Preference``), never turn on what one turns off."""

    __tablename__ = "notifications_rules"
    __table_args__ = (UniqueConstraint("target", "event", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(80), index=True)
    # Set for "user:<id>" targets, so the rule goes with the user.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(64), default="email")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
