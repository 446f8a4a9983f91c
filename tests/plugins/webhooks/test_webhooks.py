"""Outgoing webhooks against a real HTTP server on loopback."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from webhook_receiver import Receiver

from kernel import outbox
from kernel.db import db, utcnow
from kernel.models import OutboxMessage as Delivery
from kernel.services import tickets, tokens
from kernel.services.uow import unit_of_work
from plugins.webhooks import service

# The receiver listens on loopback: the integrator allow-list lets deliveries reach it.
pytestmark = [pytest.mark.plugins("helpdesk", "webhooks"),
              pytest.mark.app_config(HOOKDESK_WEBHOOK_ALLOW="127.0.0.1")]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _verify(secret, headers, body):
    expected = hmac.new(secret.encode(), headers["X-Hookdesk-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return headers["X-Hookdesk-Signature"] == "sha256=" + expected


def test_signed_delivery_after_commit(app, agent, receiver):
    endpoint = service.create({"url": receiver.url, "events": ["created", "status_changed"]})
    ticket = tickets.create({"subject": "Hook me"}, actor=agent)
    tickets.update(ticket, {"queue": "billing"}, actor=agent)  # not subscribed
    tickets.transition(ticket, "in_progress", actor=agent)
    events = [json.loads(body)["event"] for _h, body in receiver.calls]
    assert events == ["created", "status_changed"]
    headers, body = receiver.calls[0]
    assert _verify(endpoint.secret, headers, body)
    payload = json.loads(body)
    assert payload["ticket"]["number"] == ticket.number
    assert payload["id"] == headers["X-Hookdesk-Delivery"]
    rows = db.session.scalars(db.select(Delivery)).all()
    assert [r.status for r in rows] == ["sent", "sent"]


def test_rolled_back_change_sends_nothing(app, agent, receiver):
    service.create({"url": receiver.url})
    with pytest.raises(RuntimeError), unit_of_work():
        tickets.create({"subject": "Never"}, actor=agent)
        raise RuntimeError("abort")
    assert receiver.calls == []
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 0


def test_failure_is_retried_with_backoff_then_delivered_once(app, agent, receiver):
    service.create({"url": receiver.url, "events": ["created"]})
    receiver.status = 503
    tickets.create({"subject": "Flaky"}, actor=agent)
    row = db.session.scalar(db.select(Delivery))
    assert row.status == "pending" and row.attempts == 1
    assert "HTTP 503" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert outbox.sweep() == 0  # not due yet
    receiver.status = 200
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert outbox.sweep() == 1
    db.session.rollback()  # end the read snapshot; see what the job wrote
    row = db.session.get(Delivery, row.id)
    assert row.status == "sent" and row.attempts == 2
    assert outbox.deliver(row.id) == "sent"  # a duplicate job sends nothing
    assert len(receiver.calls) == 2


def test_permanent_failure_is_visible(app, agent, receiver):
    service.create({"url": receiver.url, "events": ["created"]})
    receiver.status = 500
    tickets.create({"subject": "Doomed"}, actor=agent)
    row = db.session.scalar(db.select(Delivery))
    for _ in range(outbox.MAX_ATTEMPTS):
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        outbox.deliver(row.id)
        db.session.rollback()  # end the read snapshot; see what the job wrote
        row = db.session.get(Delivery, row.id)
    assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS
    assert "HTTP 500" in row.last_error


def test_crashed_worker_claim_is_taken_over(app, agent, receiver):
    service.create({"url": receiver.url, "events": ["created"]})
    receiver.status = 500
    tickets.create({"subject": "Crash"}, actor=agent)
    row = db.session.scalar(db.select(Delivery))
    # A worker claimed it and died: the claim is old.
    row.status, row.claimed_at = "sending", utcnow() - outbox.CLAIM_TIMEOUT * 2
    db.session.commit()
    receiver.status = 200
    assert outbox.sweep() == 1
    db.session.rollback()  # end the read snapshot; see what the job wrote
    assert db.session.get(Delivery, row.id).status == "sent"


def test_fresh_claim_is_not_sent_twice(app, agent, receiver):
    service.create({"url": receiver.url, "events": ["created"]})
    receiver.status = 500
    tickets.create({"subject": "Busy"}, actor=agent)
    row = db.session.scalar(db.select(Delivery))
    row.status, row.claimed_at = "sending", utcnow()
    db.session.commit()
    calls = len(receiver.calls)
    assert outbox.deliver(row.id) == "sending"
    assert len(receiver.calls) == calls


def test_api_manages_endpoints_and_shows_log(client, admin, agent, receiver):
    _row, secret = tokens.create(admin, "t")
    headers = {"Authorization": f"Bearer {secret}"}
    bad = client.post("/api/v1/webhooks", headers=headers,
                      json={"url": "ftp://x", "events": ["nope"]})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"url", "events"}
    made = client.post("/api/v1/webhooks", headers=headers,
                       json={"url": receiver.url, "events": ["created"]})
    assert made.status_code == 201 and made.json["secret"]
    tickets.create({"subject": "Logged"}, actor=agent)
    log = client.get(f"/api/v1/webhooks/{made.json['id']}/deliveries", headers=headers).json
    assert [(d["event"], d["status"]) for d in log] == [("created", "sent")]
    again = client.post(f"/api/v1/webhooks/{made.json['id']}/deliveries/{log[0]['id']}/redeliver",
                        headers=headers)
    assert again.status_code == 200
    assert len(receiver.calls) == 2
    _r, agent_secret = tokens.create(agent, "t")
    assert client.get("/api/v1/webhooks",
                      headers={"Authorization": f"Bearer {agent_secret}"}).status_code == 403
    assert "/api/v1/webhooks" in client.get("/api/v1/openapi.json").json["paths"]
