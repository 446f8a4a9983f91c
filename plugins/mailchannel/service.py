"""The one way letters come in: ``ingest(raw, mailbox)``, fed by IMAP fetching
(``imap.poll``) and by the LMTP/SMTP receiver (``hookdesk mail serve``).

A letter is taken in once, in one transaction with what it caused (a ticket, a
message, a review, a bounce mark) and its ``MailLetter`` row, whose unique
``dedupe_key`` (mailbox + Message-ID, or mailbox + a hash of the bytes when it
has none) makes a second delivery of it a ``duplicate``. A letter that cannot
be taken in is kept whole in the quarantine for an admin to retry; a database
that is down raises, so the caller leaves the letter on the server (IMAP) or
answers "try later" (LMTP).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.datastructures import FileStorage

from kernel import mail
from kernel.db import db, get_by_id, utcnow
from kernel.errors import HookdeskError, ValidationFailed
from kernel.models import Customer, CustomerEmail, Ticket, User
from kernel.services import attachments, customers, messages, settings, tickets
from kernel.services.uow import unit_of_work
from plugins.mailchannel import parse
from plugins.mailchannel.models import (
    MailBounce,
    MailLetter,
    MailMailbox,
    MailQuarantine,
    MailReview,
)

log = logging.getLogger("hookdesk.mailchannel")

VIA = "mail"
MAX_BYTES_SETTING = "mailchannel.max_bytes"
SENDER_LIMIT_SETTING = "mailchannel.sender_hourly_limit"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_SENDER_LIMIT = 20
NO_SUBJECT = "(no subject)"
COUNTED = ("created", "replied", "review")


@dataclass
class Outcome:
    """What became of a letter: ``created``, ``replied``, ``review``, ``own``,
    ``bounce``, ``duplicate``, ``quarantined``, ``limited`` or ``refused``."""

    outcome: str
    letter_id: int | None = None
    ticket_id: int | None = None
    detail: str = ""

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"


class _Limited(Exception):
    pass


def max_bytes() -> int:
    return int(settings.get(MAX_BYTES_SETTING, DEFAULT_MAX_BYTES) or DEFAULT_MAX_BYTES)


def sender_limit() -> int:
    return int(settings.get(SENDER_LIMIT_SETTING, DEFAULT_SENDER_LIMIT) or 0)


def dedupe_key(mailbox: MailMailbox | None, message_id: str, raw_sha256: str) -> str:
    ident = f"id:{message_id.strip()}" if message_id.strip() else f"raw:{raw_sha256}"
    return hashlib.sha256(f"{mailbox.id if mailbox else '-'}|{ident}".encode()).hexdigest()


def ingest(raw: bytes, mailbox: MailMailbox | None = None, retry: bool = False) -> Outcome:
    """Take in one letter (its bytes as received) for ``mailbox``. ``retry``: an
    admin's retry from the quarantine (the sender's hourly limit does not apply)."""
    raw_sha = hashlib.sha256(raw).hexdigest()
    if len(raw) > max_bytes():
        return refuse(raw[:65536], len(raw), mailbox)
    try:
        letter = parse.read(raw)
    except Exception as exc:  # noqa: BLE001 - whatever the parser chokes on is quarantined
        return _quarantine(raw, mailbox, dedupe_key(mailbox, "", raw_sha), "error",
                           f"Cannot read the letter: {exc}", None)
    key = dedupe_key(mailbox, letter.message_id, raw_sha)
    if db.session.scalar(select(MailLetter.id).where(MailLetter.dedupe_key == key)):
        return Outcome("duplicate", detail="This letter was taken in already.")
    held = db.session.scalar(select(MailQuarantine).where(MailQuarantine.dedupe_key == key))
    if held is not None and held.status == "held" and not retry:
        return Outcome("quarantined", detail="This letter waits in the quarantine already.")
    quiet = [letter.sender] if (letter.automatic or letter.bounce) else []
    reason = f"An automatic letter ({letter.automatic}) is never answered automatically."
    try:
        with mail.automatic_letters_suppressed(quiet, reason), unit_of_work():
            outcome = _take(letter, raw, raw_sha, key, mailbox, retry)
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", detail="This letter was taken in at the same time.")
    except _Limited as exc:
        return _quarantine(raw, mailbox, key, "limited", str(exc), letter)
    except DBAPIError:
        raise  # the database is down: the letter stays where it is, to come again
    except HookdeskError as exc:
        return _quarantine(raw, mailbox, key, "error", _error_text(exc), letter)
    except Exception as exc:  # noqa: BLE001 - never lose a letter to a bug: keep it
        log.exception("letter %s could not be taken in", letter.message_id)
        return _quarantine(raw, mailbox, key, "error", f"{type(exc).__name__}: {exc}", letter)
    if held is not None:
        with unit_of_work():
            held.status, held.resolved_at = "released", utcnow()
    return outcome


def _error_text(exc: HookdeskError) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {' '.join(v) if isinstance(v, list) else v}"
                         for k, v in errors.items())
    return str(exc)


def _take(letter: parse.Letter, raw: bytes, raw_sha: str, key: str,
          mailbox: MailMailbox | None, retry: bool) -> Outcome:
    row = MailLetter(mailbox_id=mailbox.id if mailbox else None, dedupe_key=key,
                     message_id=letter.message_id, raw_sha256=raw_sha, size=len(raw),
                     sender=letter.sender, subject=letter.subject, outcome="",
                     automatic=bool(letter.automatic or letter.bounce),
                     detail=letter.automatic, html=letter.html[:200_000], received_at=utcnow())
    db.session.add(row)
    if mail.is_ours(letter.message_id) or letter.hookdesk_ref:
        row.outcome, row.detail = "own", "Our own letter came back: ignored."
        return _done(row)
    if letter.bounce is not None:
        return _bounced(row, letter)
    if not retry and _over_limit(letter.sender):
        raise _Limited(f"More than {sender_limit()} letters from {letter.sender} within an "
                       "hour: held here until an admin retries them.")
    ticket = _thread_of(letter)
    if ticket is not None:
        if letter.sender in customer_addresses(ticket):
            message = messages.post(ticket, _reply_text(letter), actor=None, via=VIA,
                                    from_customer=True)
            row.ticket_id, row.thread_message_id, row.outcome = ticket.id, message.id, "replied"
            _attach_all(row, ticket, letter, raw, message)
            return _done(row)
        return _review(row, letter, raw, ticket, "not_customer")
    customer = _customer_for(letter.sender)
    if customer is None:
        if mailbox is not None and not mailbox.create_customers:
            return _review(row, letter, raw, None, "unknown_sender")
        customer = _new_customer(letter)
    created = _create_ticket(letter, customer, mailbox)
    row.ticket_id, row.outcome = created.id, "created"
    _attach_all(row, created, letter, raw, None)
    return _done(row)


def _done(row: MailLetter) -> Outcome:
    db.session.flush()
    return Outcome(row.outcome, row.id, row.ticket_id, row.detail)


def _over_limit(sender: str) -> bool:
    limit = sender_limit()
    if not limit:
        return False
    since = utcnow() - timedelta(hours=1)
    count = db.session.scalar(select(func.count(MailLetter.id)).where(
        MailLetter.sender == sender, MailLetter.received_at >= since,
        MailLetter.outcome.in_(COUNTED))) or 0
    return count >= limit


# -- threads -------------------------------------------------------------------------


def _thread_of(letter: parse.Letter) -> Ticket | None:
    """The ticket a letter answers: our signed Message-ID in In-Reply-To or
    References, else a ticket number in the subject."""
    ref = mail.ref_of(letter.replies_to)
    if ref and ref.startswith("ticket:") and ref[7:].isdigit():
        found = get_by_id(Ticket, int(ref[7:]))
        if found is not None:
            return found
    tokens = {t.strip("[]()#№:,.;") for t in letter.subject.replace("№", " ").split()}
    tokens = {t for t in tokens if t and any(c.isdigit() for c in t) and len(t) <= 64}
    if not tokens:
        return None
    return db.session.scalars(select(Ticket).where(Ticket.number.in_(sorted(tokens)))
                              .order_by(Ticket.id)).first()


def customer_addresses(ticket: Ticket) -> set[str]:
    """The addresses that speak for the ticket's customer: the customer's e-mails
    and the logins of their portal accounts."""
    if ticket.customer_id is None:
        return set()
    found = {e.lower() for e in db.session.scalars(
        select(CustomerEmail.email).where(CustomerEmail.customer_id == ticket.customer_id))}
    found |= {e.lower() for e in db.session.scalars(
        select(User.email).where(User.customer_id == ticket.customer_id,
                                 User.kind == "customer", User.is_active.is_(True)))}
    return found


def _reply_text(letter: parse.Letter) -> str:
    return _clip(parse.trim_quoted(letter.text) or _no_text(letter))


def _no_text(letter: parse.Letter) -> str:
    return "(no text)" if not letter.files else ""


def _clip(text: str) -> str:
    limit = messages.MAX_BODY - 100
    return text if len(text) <= limit else text[:limit] + "\n\n[…] (cut: the letter is longer)"


# -- new tickets ---------------------------------------------------------------------


def _customer_for(address: str) -> Customer | None:
    found = customers.find_by_email(address, viewer=None)
    return found[0] if found else None


def _new_customer(letter: parse.Letter) -> Customer:
    name = letter.sender_name or letter.sender.split("@")[0] or letter.sender
    return customers.create({"name": name[:200], "emails": [letter.sender]}, actor=None)


def _create_ticket(letter: parse.Letter, customer: Customer,
                   mailbox: MailMailbox | None) -> Ticket:
    values: dict = {"subject": letter.subject or NO_SUBJECT, "customer": customer.id,
                    "text": _clip(letter.text or _no_text(letter) or "(no text)")}
    if mailbox is not None and mailbox.queue:
        values["queue"] = mailbox.queue
    ticket_type = mailbox.ticket_type if mailbox is not None and mailbox.ticket_type else None
    return tickets.create(values, actor=None, type=ticket_type, via=VIA)


def _attach_all(row: MailLetter, ticket: Ticket, letter: parse.Letter, raw: bytes,
                message) -> None:
    """The letter's files (through the kernel's attachment rules: size, count,
    safe names, sniffed types) and the original letter, for agents only. A file
    the rules refuse is left out and named in the letter's log row."""
    problems = []
    for item in letter.files:
        try:
            attachments.attach(ticket, FileStorage(io.BytesIO(item.data), filename=item.filename),
                               actor=None, message=message, via=VIA)
        except (ValidationFailed, HookdeskError) as exc:
            problems.append(f"{attachments.safe_filename(item.filename)}: {_error_text(exc)}")
    try:
        original = attachments.attach(
            ticket, FileStorage(io.BytesIO(raw), filename=f"letter-{row.raw_sha256[:12]}.eml"),
            actor=None, message=message, via=VIA, internal=True)
        row.original_id = original.id
    except (ValidationFailed, HookdeskError) as exc:
        problems.append(f"original letter: {_error_text(exc)}")
    if problems:
        row.detail = "; ".join(filter(None, [row.detail, "Files left out: " + "; ".join(problems)]))


# -- reviews, bounces, quarantine, refusals --------------------------------------------------


def _review(row: MailLetter, letter: parse.Letter, raw: bytes, ticket: Ticket | None,
            reason: str) -> Outcome:
    row.outcome, row.ticket_id = "review", ticket.id if ticket else None
    db.session.flush()
    db.session.add(MailReview(letter_id=row.id, ticket_id=ticket.id if ticket else None,
                              sender=letter.sender, sender_name=letter.sender_name,
                              subject=letter.subject,
                              body=_clip(parse.trim_quoted(letter.text) if ticket else letter.text),
                              reason=reason, raw=raw))
    return _done(row)


def _bounced(row: MailLetter, letter: parse.Letter) -> Outcome:
    bounce = letter.bounce
    assert bounce is not None
    now = utcnow()
    for address, status, diagnostic in bounce.recipients:
        mark = db.session.scalar(select(MailBounce).where(MailBounce.address == address))
        if mark is None:
            db.session.add(MailBounce(address=address[:254], status=status[:32],
                                      diagnostic=diagnostic, first_at=now, last_at=now))
        else:
            mark.count += 1
            mark.status, mark.diagnostic, mark.last_at = status[:32], diagnostic, now
    db.session.flush()
    row.outcome = "bounce"
    row.detail = "Undeliverable: " + ", ".join(a for a, _s, _d in bounce.recipients)
    ref = mail.ref_of(bounce.original_ids)
    ticket = get_by_id(Ticket, int(ref[7:])) if ref and ref.startswith("ticket:") else None
    if ticket is not None:
        row.ticket_id = ticket.id
        lines = [f"{a}: {s} {d}".strip() for a, s, d in bounce.recipients]
        messages.post(ticket, "A letter about this ticket could not be delivered:\n"
                      + "\n".join(lines), actor=None, internal=True, via=VIA)
    return _done(row)


def is_bouncing(address: str) -> bool:
    return db.session.scalar(select(MailBounce.id).where(
        MailBounce.address == (address or "").strip().lower())) is not None


def _quarantine(raw: bytes, mailbox: MailMailbox | None, key: str, reason: str, error: str,
                letter: parse.Letter | None) -> Outcome:
    db.session.rollback()
    with unit_of_work():
        held = db.session.scalar(select(MailQuarantine).where(MailQuarantine.dedupe_key == key))
        if held is None:
            held = MailQuarantine(dedupe_key=key, raw=raw, size=len(raw),
                                  mailbox_id=mailbox.id if mailbox else None)
            db.session.add(held)
        held.sender = (letter.sender if letter else _peek_sender(raw))[:254]
        held.subject = (letter.subject if letter else "")[:300]
        held.reason, held.error, held.status = reason, error[:4000], "held"
        held.attempts = (held.attempts or 0) + 1
        db.session.flush()
    log.warning("letter quarantined (%s): %s", reason, error)
    return Outcome("limited" if reason == "limited" else "quarantined", detail=error)


def _peek_sender(raw: bytes) -> str:
    try:
        from email.utils import parseaddr

        return parseaddr(parse.as_message(raw[:65536]).get("From", ""))[1].lower()
    except Exception:  # noqa: BLE001
        return ""


def refuse(head_bytes: bytes, size: int, mailbox: MailMailbox | None) -> Outcome:
    """Log a letter of ``size`` bytes over the limit (``head_bytes``: its start,
    headers at least) as refused, once; nothing of it is kept."""
    limit = max_bytes()
    raw_sha = hashlib.sha256(head_bytes).hexdigest()
    detail = (f"The letter is {size // 1024} KB, more than the limit of "
              f"{limit // 1024} KB ({MAX_BYTES_SETTING}).")
    try:
        head = parse.as_message(head_bytes.split(b"\r\n\r\n")[0].split(b"\n\n")[0])
        message_id = " ".join(str(head.get("Message-ID", "")).split())[:500]
        sender = _peek_sender(head_bytes)
        subject = " ".join(str(head.get("Subject", "")).split())[:300]
    except Exception:  # noqa: BLE001
        message_id = sender = subject = ""
    key = dedupe_key(mailbox, message_id, raw_sha)
    try:
        with unit_of_work():
            if db.session.scalar(select(MailLetter.id).where(MailLetter.dedupe_key == key)):
                return Outcome("refused", detail=detail)
            row = MailLetter(mailbox_id=mailbox.id if mailbox else None, dedupe_key=key,
                             message_id=message_id, raw_sha256=raw_sha, size=size,
                             sender=sender, subject=subject, outcome="refused", detail=detail)
            db.session.add(row)
            db.session.flush()
            return Outcome("refused", row.id, detail=detail)
    except IntegrityError:
        db.session.rollback()
        return Outcome("refused", detail=detail)


# -- the admins' and agents' actions ------------------------------------------------------


def retry(held: MailQuarantine, actor: User | None = None) -> Outcome:
    """Take a quarantined letter in again (after the cause was fixed)."""
    from kernel import permissions

    permissions.require(actor, "mailchannel.manage")
    if held.status != "held":
        raise ValidationFailed({"status": "This letter is not in the quarantine any more."})
    return ingest(held.raw, held.mailbox, retry=True)


def discard(held: MailQuarantine, actor: User | None = None) -> None:
    from kernel import permissions

    permissions.require(actor, "mailchannel.manage")
    with unit_of_work():
        held.status, held.resolved_at = "discarded", utcnow()


def accept_review(review: MailReview, actor: User | None, public: bool = False) -> Ticket:
    """An agent's "yes": a reply is added to its ticket (a note, or with
    ``public`` a message the customer sees, naming the writer); a new letter
    from an unknown sender opens a ticket for a new customer."""
    from kernel import permissions

    permissions.require(actor, "mailchannel.review")
    if review.status != "pending":
        raise ValidationFailed({"status": "This letter was decided already."})
    letter = parse.read(review.raw)
    row = review.letter
    with unit_of_work():
        if review.ticket_id is not None:
            ticket = tickets.require_ticket(review.ticket_id, actor)
            writer = f"{review.sender_name} <{review.sender}>" if review.sender_name \
                else review.sender
            message = messages.post(ticket, f"{writer}:\n\n{review.body}", actor=actor,
                                    internal=not public, via=VIA)
            row.thread_message_id = message.id
        else:
            permissions.require(actor, "tickets.create")
            customer = _customer_for(letter.sender) or _new_customer(letter)
            ticket = _create_ticket(letter, customer, row.mailbox)
            message = None
        row.ticket_id, row.outcome = ticket.id, "created" if message is None else "replied"
        _attach_all(row, ticket, letter, review.raw, message)
        review.status, review.decided_by_id, review.decided_at = "accepted", actor.id \
            if actor else None, utcnow()
    return ticket


def reject_review(review: MailReview, actor: User | None) -> None:
    from kernel import permissions

    permissions.require(actor, "mailchannel.review")
    if review.status != "pending":
        raise ValidationFailed({"status": "This letter was decided already."})
    with unit_of_work():
        review.status, review.decided_at = "rejected", utcnow()
        review.decided_by_id = actor.id if actor else None


def mailbox_for(recipient: str) -> MailMailbox | None:
    """The active mailbox whose address is ``recipient`` (LMTP/SMTP)."""
    address = (recipient or "").strip().lower()
    return db.session.scalars(select(MailMailbox).where(
        func.lower(MailMailbox.address) == address, MailMailbox.is_active.is_(True))).first()
