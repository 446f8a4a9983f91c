"""Webhook deliveries through the kernel's outbox.

``enqueue_for_event`` runs in the worker once the change committed
(``hookdesk_event_committed``, see ``kernel.event_work``) and puts one outbox
row per interested endpoint (idempotency key: endpoint + event), tagged
``webhook:<endpoint id>`` for the delivery log. The outbox delivers it after
commit, retries with backoff and records failures; ``send`` below is this
plugin's channel: a signed ``POST`` through ``kernel.netguard`` (internal
addresses refused after DNS resolution, no redirects followed, only the status
and time of the answer kept — never its body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from kernel import netguard, outbox, visibility
from kernel.db import db, get_by_id
from kernel.models import Status
from plugins.webhooks.models import Endpoint

CHANNEL = "webhook"
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# Who a payload is written for, through the kernel's visibility policy: an
# endpoint is configured by an admin for staff systems, so it reads as staff (the
# system: every field, internal flags). No payload carries a message's body, so
# internal notes' texts never leave; a receiver fetches what it needs through
# the API with its own token, which the policy checks again.
PAYLOAD_VIEWER = None


def payload_for(event, ticket, state: dict | None = None) -> dict | None:
    """The JSON body for ``event``, or ``None`` if the policy hides it from the viewer.
    ``state``: the ticket's columns as they were at the event
    (``hookdesk_event_committed``); without it, the ticket as it is."""
    seen = visibility.event_view(event, ticket, PAYLOAD_VIEWER)
    if seen is None:
        return None
    state = state or {}
    status = ticket.status
    if state.get("status_id") not in (None, ticket.status_id):
        status = get_by_id(Status, state["status_id"]) or status
    return {
        "event": event.kind,
        "event_id": event.id,
        "occurred_at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "via": event.via,
        "data": seen.data,
        "ticket": {
            "id": ticket.id,
            "number": state.get("number", ticket.number),
            "type": ticket.type.key,
            "status": status.key,
            "status_group": status.group,
            "subject": state.get("subject", ticket.subject),
            "customer_id": state.get("customer_id", ticket.customer_id),
            "assignee_id": state.get("assignee_id", ticket.assignee_id),
            "version": state.get("version", ticket.version),
        },
    }


def enqueue_for_event(event, ticket, state: dict | None = None) -> int:
    """In the worker (``hookdesk_event_committed``): one outbox row per active
    endpoint that wants ``event``."""
    endpoints = db.session.scalars(db.select(Endpoint).where(Endpoint.is_active.is_(True))).all()
    queued = 0
    payload = payload_for(event, ticket, state) if endpoints else None
    for endpoint in endpoints:
        if payload is not None and endpoint.wants(event.kind):
            outbox.put(
                CHANNEL, endpoint.url,
                {"endpoint_id": endpoint.id, "event": event.kind, "data": payload},
                key=f"webhook-{endpoint.id}-{event.id}", ref=f"webhook:{endpoint.id}",
            )
            queued += 1
    return queued


def send(recipient: str, subject: str, body: str, context: dict, session=None) -> None:
    """The ``webhook`` channel: POST the event, signed with the endpoint's secret."""
    endpoint = get_by_id(Endpoint, context.get("endpoint_id"))
    if endpoint is None:
        raise outbox.PermanentFailure("The webhook was deleted.")
    key = context["idempotency_key"]
    raw = json.dumps({"id": key, **context["data"]}, ensure_ascii=False,
                     separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hookdesk-Webhooks/1",
        "X-Hookdesk-Event": context["event"],
        "X-Hookdesk-Delivery": key,
        "X-Hookdesk-Timestamp": timestamp,
        "X-Hookdesk-Signature": sign(endpoint.secret, timestamp, raw),
    }
    try:
        answer = netguard.post(endpoint.url, raw, headers, TIMEOUT_SECONDS, http=session)
    except netguard.DestinationRefused as exc:
        raise outbox.PermanentFailure(f"Refused: {exc}") from exc
    except requests.RequestException as exc:
        raise outbox.TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
    if 300 <= answer.status < 400:  # redirects are not followed: the receiver must fix its URL
        raise outbox.PermanentFailure(f"{answer.describe()}: redirects are not followed.")
    if not 200 <= answer.status < 300:  # only the status and time: never the body
        raise outbox.TemporaryFailure(answer.describe())
