"""Tables of the SMS plugin (prefix ``sms_``).

* ``SmsMessage`` — every SMS the helpdesk sent or tried to: to whom, the text,
  its parts, the gateway, the status its delivery reports gave it, the ticket.
* ``SmsPart`` — the id the gateway gave each part, so a delivery report (an SMPP
  ``deliver_sm`` receipt, SMS.ru's callback or status answer) finds its message.
* ``SmsTemplate`` — texts agents pick on the card, in Russian and English, with
  ticket placeholders; edited by the admin.
* ``SmsOptOut`` — numbers that asked not to get SMS (or that the admin blocked).
* ``SmsDevMessage`` — what the development gateway "sent": shown in the admin.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow

# queued -> sent (the gateway accepted it) -> delivered | undelivered; failed: never sent.
STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")
FINAL = ("delivered", "undelivered", "failed")


class SmsMessage(db.Model):
    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The outbox row's idempotency key: one SMS per event, however often it is queued.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    parts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    gateway: Mapped[str] = mapped_column(String(16), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(100), default="")
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    part_ids: Mapped[list[SmsPart]] = relationship(
        back_populates="message", order_by="SmsPart.id", lazy="selectin")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class SmsPart(db.Model):
    __tablename__ = "sms_parts"
    __table_args__ = (UniqueConstraint("gateway", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id", ondelete="CASCADE"),
                                            index=True)
    gateway: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="sent")
    detail: Mapped[str] = mapped_column(String(200), default="")

    message: Mapped[SmsMessage] = relationship(back_populates="part_ids")


class SmsTemplate(db.Model):
    __tablename__ = "sms_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body_ru: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SmsOptOut(db.Model):
    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="admin")  # admin | reply
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SmsDevMessage(db.Model):
    __tablename__ = "sms_dev_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
