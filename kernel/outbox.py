"""The outbox: every side effect (e-mail, SMS, webhook) survives a crash and is
sent once (R3, X4).

1. ``put()`` runs inside the unit of work of the change and writes a row; a
   rolled-back change leaves none. Its unique ``key`` makes a repeat a no-op.
2. After commit the job ``outbox.deliver`` is queued, once per change.
3. The job (``deliver_due()``) claims the row, with the other rows due now, in
   batches by one conditional UPDATE (pending -> sending) each, so two workers
   never send a row at once, and calls the channel's ``send``
   (``hookdesk_register_notification_channels``). Success marks it sent. A
   ``TemporaryFailure`` or any other error is retried with exponential backoff
   (1, 2, 4... minutes) up to ``MAX_ATTEMPTS``; a ``PermanentFailure`` or the last
   attempt marks it failed, with the error, for the admin to see.
4. The periodic job ``outbox.sweep`` re-queues rows that are due: retries, rows
   whose job was lost, rows whose worker died while sending (claimed longer than
   ``CLAIM_TIMEOUT`` ago), letters held by the hourly limit.
5. Work on ticket events (channel ``kernel.event``, ``kernel.event_work``): the
   letters and webhooks an event calls for are written by the delivery of its
   row; once done, the row is deleted (it sent nothing to log).
6. E-mail storms (``kernel.letters``): a letter about a ticket to an address
   that has one waiting is merged into it (status ``merged``), one within a
   minute of the last is held back to be merged into; over the hourly limit of
   an address a letter is ``held`` (not sent, not dropped) until the hour allows.

"Sent once" holds for channels that honour the idempotency key (the key is
given to ``send`` as ``context["idempotency_key"]``; webhooks pass it as a header,
SMTP as the Message-ID). A worker killed after the far side accepted a message
but before the row was marked sent resends it after ``CLAIM_TIMEOUT``: the same
key lets the far side drop it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update

from kernel import event_work, letters, runtime
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models.outbox import OutboxMessage
from kernel.services.uow import in_unit_of_work, unit_of_work

DELIVER_JOB = "outbox.deliver"
SWEEP_JOB = "outbox.sweep"
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(minutes=1)
CLAIM_TIMEOUT = timedelta(minutes=5)
BATCH_SIZE = 50  # messages claimed, sent and recorded together by one job
MAX_BATCHES = 20  # then the job ends; the rest wait for the next job or the sweep


class TemporaryFailure(Exception):
    """Try again later (connection refused, 4xx from SMTP, HTTP 5xx)."""


class PermanentFailure(Exception):
    """Never try again (address rejected, gateway refused the number)."""


def put(
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    key: str,
    ref: str | None = None,
    not_before: datetime | None = None,
    status: str = "pending",
    reason: str = "",
) -> OutboxMessage:
    """Queue a side effect; must run inside the change's unit of work.

    ``status="suppressed"`` (with a ``reason``) writes the row for the log only:
    it is never sent (e.g. a letter that would answer an auto-responder)."""
    if not in_unit_of_work():
        raise RuntimeError("outbox.put() must run inside a unit of work")
    if channel not in runtime.host().registry.notification_channels:
        raise ValidationFailed({"channel": f"Unknown channel {channel!r}."})
    existing = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is not None:
        return existing
    if status == "suppressed":
        row = OutboxMessage(key=key[:200], channel=channel, recipient=recipient,
                            payload=payload, ref=ref, status=status, last_error=reason[:2000],
                            next_attempt_at=utcnow())
        db.session.add(row)
        db.session.flush()
        return row
    if channel == letters.CHANNEL:  # coalesce letters about one ticket (kernel.letters)
        merged_into, not_before = letters.before_put(recipient, payload, key, ref, not_before)
        if merged_into is not None:
            return merged_into
    row = OutboxMessage(key=key[:200], channel=channel, recipient=recipient, payload=payload,
                        ref=ref, next_attempt_at=not_before or utcnow())
    db.session.add(row)
    db.session.flush()
    from kernel import jobs

    # One job per change: it sends this row and every other one due, in batches.
    jobs.enqueue(DELIVER_JOB, once=True, message_id=row.id)
    return row


def _due():
    now = utcnow()
    return or_(
        and_(OutboxMessage.status.in_(("pending", "held")), OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
    )


def deliver(message_id: int) -> str:
    """Send one message if it is due; returns its status afterwards."""
    _send_claimed(_claim(OutboxMessage.id == message_id))
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        return "missing"
    db.session.refresh(row)
    return row.status


def deliver_due(first: int | None = None, limit: int = BATCH_SIZE) -> int:
    """The deliver job: send message ``first`` and the others due now, in batches.

    A batch is claimed by one statement and its results written by one
    transaction: two writes per batch instead of two per message, which is what
    lets the embedded (SQLite) worker keep up with many web workers. A job that
    finds nothing due (an earlier batch took its message) costs one read and no
    write. Returns how many messages this call handled."""
    if db.session.scalar(db.select(OutboxMessage.id).where(_due()).limit(1)) is None:
        db.session.rollback()  # end the read: the next job must see new rows
        return 0
    handled = 0
    for _round in range(MAX_BATCHES):
        due = db.select(OutboxMessage.id).where(_due()).order_by(OutboxMessage.id).limit(limit)
        condition = OutboxMessage.id.in_(due.scalar_subquery())
        if first is not None:
            condition = or_(OutboxMessage.id == first, condition)
        ids = _claim(condition)
        _send_claimed(ids)
        handled += len(ids)
        if len(ids) < limit:
            break
        first = None
    return handled


def _claim(condition) -> list[int]:
    """Mark the due messages matching ``condition`` as being sent by this worker;
    the ids it got. The WHERE repeats ``_due()``, so of two workers racing for a
    row only one gets it (PostgreSQL re-checks it after the row lock)."""
    with unit_of_work():
        return list(db.session.execute(
            update(OutboxMessage)
            .where(condition, _due())
            .values(status="sending", claimed_at=utcnow())
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars())


def _send_claimed(ids: list[int]) -> None:
    """Send the claimed messages ``ids`` through their channels (or hold those over
    their address's hourly limit, ``kernel.letters``), then record every outcome
    in one transaction."""
    if not ids:
        return
    rows = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.id).execution_options(populate_existing=True)
    ).all()
    # Letters this batch sends are not in the table as sent yet: count them too.
    sent_now: Counter[str] = Counter()
    outcomes: list[tuple[OutboxMessage, str, bool, datetime | None]] = []
    for row in rows:
        address = letters.address_of(row.recipient) if row.channel == letters.CHANNEL else ""
        held = letters.hold_until(row, already=sent_now[address]) if address else None
        if held is not None:
            outcomes.append((row, "", False, held))
            continue
        error, permanent = _send(row)
        if address and not error:
            sent_now[address] += 1
        outcomes.append((row, error, permanent, None))
    with unit_of_work():
        now = utcnow()
        for row, error, permanent, held in outcomes:
            row.claimed_at = None
            if held is not None:
                row.status, row.next_attempt_at = "held", held
                row.last_error = letters.held_reason(held)
                continue
            row.attempts += 1
            if not error and row.channel == event_work.CHANNEL:
                db.session.delete(row)  # work done, nothing was sent: no log entry
            elif not error:
                row.status, row.sent_at, row.last_error = "sent", now, ""
            elif permanent or row.attempts >= MAX_ATTEMPTS:
                row.status, row.last_error = "failed", error
            else:
                row.status, row.last_error = "pending", error
                row.next_attempt_at = now + BASE_DELAY * (2 ** (row.attempts - 1))


def _send(row: OutboxMessage) -> tuple[str, bool]:
    """Hand one message to its channel: ``(error, permanent)``, ``("", False)`` if sent."""
    entry = runtime.host().registry.notification_channels.get(row.channel)
    if entry is None:
        return f"Channel {row.channel!r} is not enabled.", False
    payload = dict(row.payload or {})
    try:
        entry.decl.send(
            recipient=row.recipient,
            subject=payload.get("subject", ""),
            body=payload.get("body", ""),
            context={**payload, "idempotency_key": row.key, "message_id": row.id},
        )
    except PermanentFailure as exc:
        return f"{exc}"[:2000] or "refused", True
    except Exception as exc:  # noqa: BLE001 - any failure is retried
        return f"{type(exc).__name__}: {exc}"[:2000], False
    return "", False


def sweep(limit: int = 1000) -> int:
    """Queue every message that is due now."""
    from kernel import jobs

    due = db.session.scalars(
        db.select(OutboxMessage.id).where(_due()).order_by(OutboxMessage.id).limit(limit)
    ).all()
    db.session.rollback()  # end the read before jobs (in memory mode) write
    for message_id in due:
        jobs.enqueue(DELIVER_JOB, message_id=message_id)
    return len(due)


def retry(message: OutboxMessage) -> None:
    """An admin's "send again" for a failed (or sent) message."""
    from kernel import jobs

    with unit_of_work():
        message.status, message.next_attempt_at, message.claimed_at = "pending", utcnow(), None
        message.attempts = 0
        jobs.enqueue(DELIVER_JOB, message_id=message.id)


def log(ref: str | None = None, status: str | None = None, limit: int = 50):
    query = db.select(OutboxMessage)
    if ref:
        query = query.where(OutboxMessage.ref == ref)
    if status:
        query = query.where(OutboxMessage.status == status)
    return db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)).all()


# The kernel registers this module as a plugin of its own ("kernel.outbox").
from kernel import declarations as _d  # noqa: E402
from kernel import hookimpl  # noqa: E402


@hookimpl
def hookdesk_register_jobs():
    return [
        _d.JobDecl(DELIVER_JOB, lambda message_id: deliver_due(first=message_id), retries=3,
                   retry_delay=5),
        _d.JobDecl(SWEEP_JOB, lambda: sweep(), retries=0, periodic="* * * * *"),
    ]
