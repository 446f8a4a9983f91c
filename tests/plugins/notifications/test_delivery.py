"""Delivery faults with a real SMTP server on loopback (R3): the server down for
a while, temporary and permanent refusals, a worker that died mid-delivery, and
a burst of 1,000 tickets — nothing lost, nothing sent twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from kernel import jobs, outbox
from kernel.db import db, utcnow
from kernel.models import OutboxMessage
from kernel.services import customers, tickets
from kernel.services.uow import unit_of_work
from web.mail import send_mail
from web.testing import Mailbox, _free_port, _Handler

pytestmark = pytest.mark.plugins("helpdesk", "notifications")


class _Deferring(_Handler):
    """Like the shared handler; recipients starting with "defer" get a 451."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower().startswith("defer"):
            return "451 4.3.0 Try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class SwitchableSMTP:
    """A real SMTP server on a fixed loopback port that can go down and come back."""

    def __init__(self):
        self.box = Mailbox("127.0.0.1", _free_port())
        self.controller: Controller | None = None

    def up(self):
        self.controller = Controller(_Deferring(self.box), hostname=self.box.host,
                                     port=self.box.port)
        self.controller.start()

    def down(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app):
    server = SwitchableSMTP()
    server.up()
    app.config["HOOKDESK_MAIL_URL"] = server.box.url + "?timeout=5"
    yield server
    server.down()


def rows(status=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if status:
        query = query.where(OutboxMessage.status == status)
    db.session.expire_all()
    return db.session.scalars(query).all()


def make_due():
    """Jump to the retry time: every pending row is due now."""
    with unit_of_work():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def ids(messages):
    return [m["Message-ID"] for m in messages]


def test_while_smtp_is_down_nothing_is_lost_and_nothing_arrives_twice(app, smtp, agent):
    customer = customers.create({"name": "Down", "emails": ["down@test.example"]})
    smtp.down()
    created = [tickets.create({"subject": f"T{i}", "customer": customer.id}, actor=agent)
               for i in range(20)]
    pending = rows("pending")
    assert len(pending) == 20 and smtp.box.messages == []
    assert all(r.attempts == 1 and "Connection" in r.last_error for r in pending)
    assert all(r.next_attempt_at > utcnow() for r in pending)  # backed off
    assert outbox.sweep() == 0  # not due yet: no hammering of a dead server
    make_due()
    outbox.sweep()  # still down: a second failed attempt, a longer wait
    assert {r.attempts for r in rows("pending")} == {2}
    smtp.up()
    make_due()
    assert outbox.sweep() == 20
    received = smtp.box.wait(20)
    assert len(received) == 20 and len(set(ids(received))) == 20
    subjects = sorted(m["Subject"] for m in received)
    assert subjects == sorted(f"Заявка {t.number} принята: {t.subject}" for t in created)
    assert len(rows("sent")) == 20
    make_due()
    assert outbox.sweep() == 0
    time.sleep(0.2)
    assert len(smtp.box.messages) == 20


def test_a_4xx_is_retried_and_a_5xx_fails_at_once_with_the_reason(app, smtp):
    send_mail("defer-me@test.example", "auth/reset_password", {"link": "http://x"},
              locale="en", key="k-defer")
    send_mail("reject-me@test.example", "auth/reset_password", {"link": "http://x"},
              locale="en", key="k-reject")
    deferred, rejected = rows()
    assert (deferred.status, deferred.attempts) == ("pending", 1)
    assert "451" in deferred.last_error
    assert (rejected.status, rejected.attempts) == ("failed", 1)
    assert "550" in rejected.last_error
    assert smtp.box.messages == []
    outbox.retry(rejected)  # the admin's "send again" after fixing the address
    assert rows()[1].status == "failed"


def test_a_broken_mail_url_keeps_the_message_for_later(app, smtp):
    app.config["HOOKDESK_MAIL_URL"] = "gopher://nowhere"
    send_mail("x@test.example", "auth/reset_password", {"link": "http://x"}, locale="en",
              key="k-config")
    (row,) = rows()
    assert row.status == "pending" and "HOOKDESK_MAIL_URL" in row.last_error
    app.config["HOOKDESK_MAIL_URL"] = smtp.box.url
    make_due()
    outbox.sweep()
    assert len(smtp.box.wait(1)) == 1 and rows()[0].status == "sent"


def _lost_job(monkeypatch):
    """Write a row whose delivery job never runs (the queue lost it)."""
    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)


def test_a_worker_killed_before_sending_is_replaced_after_the_claim_timeout(
        app, smtp, monkeypatch):
    with monkeypatch.context() as patch:
        _lost_job(patch)
        message_id = send_mail("late@test.example", "auth/reset_password",
                               {"link": "http://x"}, locale="en", key="k-crash")
    # A worker claimed it, then died: the row stays "sending".
    with unit_of_work():
        db.session.execute(update(OutboxMessage).values(status="sending", claimed_at=utcnow()))
    assert outbox.sweep() == 0  # still within CLAIM_TIMEOUT: somebody may be sending it
    assert smtp.box.messages == []
    with unit_of_work():
        db.session.execute(update(OutboxMessage).values(
            claimed_at=utcnow() - outbox.CLAIM_TIMEOUT - timedelta(seconds=1)))
    assert outbox.sweep() == 1
    (message,) = smtp.box.wait(1)
    assert message["Message-ID"] == message_id
    assert rows()[0].status == "sent" and rows()[0].attempts == 1
    assert outbox.deliver(rows()[0].id) == "sent"  # a late duplicate job does nothing
    time.sleep(0.2)
    assert len(smtp.box.messages) == 1


def test_a_worker_killed_after_the_server_accepted_resends_the_same_message_id(
        app, smtp, monkeypatch):
    """The one window a crash cannot close: the server took the message but the
    row was not marked sent. The resend carries the same Message-ID, so a mail
    system that deduplicates by it shows one letter."""
    from kernel import mail

    with monkeypatch.context() as patch:
        _lost_job(patch)
        send_mail("twice@test.example", "auth/reset_password", {"link": "http://x"},
                  locale="en", key="k-window")
    (row,) = rows()
    mail.send(row.recipient, row.payload["subject"], row.payload["body"],
              {**row.payload, "idempotency_key": row.key})  # ... and then the worker died
    with unit_of_work():
        db.session.execute(update(OutboxMessage).values(
            status="sending", claimed_at=utcnow() - outbox.CLAIM_TIMEOUT * 2))
    outbox.sweep()
    first, second = smtp.box.wait(2)
    assert first["Message-ID"] == second["Message-ID"] == mail.message_id_for("k-window")


def test_two_workers_never_send_one_row_twice(app, smtp, monkeypatch):
    with monkeypatch.context() as patch:
        _lost_job(patch)
        send_mail("race@test.example", "auth/reset_password", {"link": "http://x"},
                  locale="en", key="k-race")
    (row,) = rows()
    assert outbox.deliver(row.id) == "sent"
    assert outbox.deliver(row.id) == "sent"  # the second claim finds nothing due
    time.sleep(0.2)
    assert len(smtp.box.messages) == 1


@pytest.mark.slow
def test_a_burst_of_1000_tickets_makes_exactly_1000_customer_letters(app, smtp, agent):
    people = [customers.create({"name": f"C{i}", "emails": [f"c{i}@burst.example"]})
              for i in range(50)]
    started = time.perf_counter()
    for i in range(1000):
        tickets.create({"subject": f"Burst {i}", "customer": people[i % 50].id}, actor=agent)
    elapsed = time.perf_counter() - started
    received = smtp.box.wait(1000, timeout=60)
    time.sleep(0.3)
    assert len(smtp.box.messages) == 1000
    assert len(set(ids(smtp.box.messages))) == 1000
    assert len({m["Subject"] for m in smtp.box.messages}) == 1000
    counts = db.session.execute(select(OutboxMessage.status, func.count())
                                .group_by(OutboxMessage.status)).all()
    assert dict(counts) == {"sent": 1000}
    print(f"\n1,000 tickets created and 1,000 letters delivered over SMTP in {elapsed:.1f} s"
          f" ({len(received)} received)")
