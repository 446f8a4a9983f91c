"""Tables of the e-mail channel (prefix ``mail_``).

* ``MailMailbox`` — where letters come from: an IMAP account to fetch from and/or
  the address an MTA hands letters for over LMTP/SMTP; each maps to a ticket
  type and a queue.
* ``MailLetter`` — every letter taken in, once: what became of it (a ticket, a
  reply, a review, a bounce...). Its ``dedupe_key`` is unique, so a letter
  fetched twice or handed over again after a crash is recognised.
* ``MailQuarantine`` — letters that could not be taken in (unparseable, refused
  by a rule, over the sender's hourly limit), kept whole for an admin to retry.
* ``MailReview`` — letters waiting for an agent: a reply to a ticket from an
  address that is not the ticket's customer's, or a new letter from an unknown
  sender where the mailbox may not create customers.
* ``MailBounce`` — addresses our letters bounced from (delivery status reports).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow

SECURITY = ("ssl", "starttls", "none")
OUTCOMES = ("created", "replied", "review", "own", "bounce", "refused")
QUARANTINE_STATUSES = ("held", "released", "discarded")
REVIEW_STATUSES = ("pending", "accepted", "rejected")


class MailMailbox(db.Model):
    __tablename__ = "mail_mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The address customers write to; LMTP/SMTP recipients are matched against it.
    address: Mapped[str] = mapped_column(String(254), default="", index=True)
    ticket_type: Mapped[str] = mapped_column(String(64), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    create_customers: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    imap_host: Mapped[str] = mapped_column(String(255), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[str] = mapped_column(String(16), default="ssl")
    imap_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    imap_username: Mapped[str] = mapped_column(String(254), default="")
    imap_password: Mapped[str] = mapped_column(String(500), default="")
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    # After a letter is committed: mark it \Seen (default) or delete it.
    delete_after: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def fetches(self) -> bool:
        return bool(self.imap_host and self.imap_username)


class MailLetter(db.Model):
    __tablename__ = "mail_letters"
    __table_args__ = (Index("ix_mail_letters_sender_received", "sender", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_mailboxes.id", ondelete="SET NULL"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(String(500), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    # The sanitized HTML part (remote images removed), when the letter had one.
    html: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    thread_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))
    # The original letter, an internal attachment of the ticket (agents download it).
    original_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mailbox: Mapped[MailMailbox | None] = relationship()


class MailQuarantine(db.Model):
    __tablename__ = "mail_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_mailboxes.id", ondelete="SET NULL"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(String(16), default="error")  # error | limited
    error: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    mailbox: Mapped[MailMailbox | None] = relationship()


class MailReview(db.Model):
    __tablename__ = "mail_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("mail_letters.id", ondelete="CASCADE"),
                                           index=True)
    # The ticket the letter answers; None: a new letter from an unknown sender.
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(254), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(32), default="not_customer")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    letter: Mapped[MailLetter] = relationship()


class MailBounce(db.Model):
    __tablename__ = "mail_bounces"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
