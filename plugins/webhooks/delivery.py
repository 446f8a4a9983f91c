"""Outbox and delivery of webhooks: at least once, signed, retried with backoff.

1. ``enqueue_for_event`` runs inside the change's transaction and writes one
   ``Delivery`` row per interested endpoint (unique key: endpoint + event).
2. After commit the job ``webhooks.deliver`` is queued for each row.
3. ``deliver`` claims the row with a conditional UPDATE (pending -> sending), so
   two workers never send it at the same time, POSTs it, and records the
   outcome; a failure is retried with exponential backoff until
   ``MAX_ATTEMPTS``, then marked ``failed`` with its error for the admin.
4. The periodic ``webhooks.sweep`` re-queues rows that are due — retries, and rows
   whose worker died mid-delivery (claimed longer than ``CLAIM_TIMEOUT`` ago).
Receivers deduplicate with ``X-Hookdesk-Delivery``: a worker killed after the
receiver answered but before the row was marked delivered sends it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import requests
from sqlalchemy import and_, or_, update

from kernel import jobs
from kernel.db import db, utcnow
from kernel.services.uow import unit_of_work
from plugins.webhooks.models import Delivery, Endpoint

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
CLAIM_TIMEOUT = timedelta(minutes=5)
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload_for(event, ticket) -> dict:
    return {
        "event": event.kind,
        "event_id": event.id,
        "occurred_at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "via": event.via,
        "data": event.data,
        "ticket": {
            "id": ticket.id,
            "number": ticket.number,
            "type": ticket.type.key,
            "status": ticket.status.key,
            "status_group": ticket.status.group,
            "subject": ticket.subject,
            "customer_id": ticket.customer_id,
            "assignee_id": ticket.assignee_id,
            "version": ticket.version,
        },
    }


def enqueue_for_event(event, ticket) -> list[Delivery]:
    endpoints = db.session.scalars(db.select(Endpoint).where(Endpoint.is_active.is_(True))).all()
    rows = []
    for endpoint in endpoints:
        if not endpoint.wants(event.kind):
            continue
        row = Delivery(key=f"{endpoint.id}-{event.id}", endpoint_id=endpoint.id,
                       event=event.kind, payload=payload_for(event, ticket))
        db.session.add(row)
        rows.append(row)
    if rows:
        db.session.flush()
        for row in rows:
            jobs.enqueue("webhooks.deliver", delivery_id=row.id)
    return rows


def _claim(delivery_id: int) -> Delivery | None:
    now = utcnow()
    with unit_of_work():
        claimed = _claim_statement(delivery_id, now)
    return db.session.get(Delivery, delivery_id) if claimed else None


def _claim_statement(delivery_id: int, now) -> int:
    return db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(
                and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
                and_(Delivery.status == "sending", Delivery.claimed_at < now - CLAIM_TIMEOUT),
            ),
        )
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def deliver(delivery_id: int, session: requests.Session | None = None) -> str:
    """Send one delivery if it is due; returns its status afterwards."""
    row = _claim(delivery_id)
    if row is None:
        current = db.session.get(Delivery, delivery_id)
        return current.status if current else "missing"
    endpoint = db.session.get(Endpoint, row.endpoint_id)
    body = json.dumps({"id": row.key, **row.payload}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hookdesk-Webhooks/1",
        "X-Hookdesk-Event": row.event,
        "X-Hookdesk-Delivery": row.key,
        "X-Hookdesk-Timestamp": timestamp,
        "X-Hookdesk-Signature": sign(endpoint.secret, timestamp, body),
    }
    error, code = "", None
    try:
        response = (session or requests).post(endpoint.url, data=body, headers=headers,
                                              timeout=TIMEOUT_SECONDS, allow_redirects=False)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    with unit_of_work():
        row.attempts += 1
        row.last_status_code = code
        row.claimed_at = None
        if not error:
            row.status, row.delivered_at, row.last_error = "delivered", utcnow(), ""
        elif row.attempts >= MAX_ATTEMPTS:
            row.status, row.last_error = "failed", error
        else:
            row.status, row.last_error = "pending", error
            row.next_attempt_at = utcnow() + BASE_DELAY * (2 ** (row.attempts - 1))
    return row.status


def sweep() -> int:
    """Re-queue deliveries that are due (retries, lost jobs, crashed workers)."""
    now = utcnow()
    due = db.session.scalars(
        db.select(Delivery.id).where(or_(
            and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
            and_(Delivery.status == "sending", Delivery.claimed_at < now - CLAIM_TIMEOUT),
        )).order_by(Delivery.id).limit(1000)
    ).all()
    for delivery_id in due:
        jobs.enqueue("webhooks.deliver", delivery_id=delivery_id)
    return len(due)


def redeliver(delivery: Delivery) -> None:
    """An admin's "send again": reset a failed or delivered row to pending."""
    with unit_of_work():
        delivery.status, delivery.next_attempt_at, delivery.claimed_at = "pending", utcnow(), None
        jobs.enqueue("webhooks.deliver", delivery_id=delivery.id)
