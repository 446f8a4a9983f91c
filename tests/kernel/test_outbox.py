"""The kernel's outbox with a probe channel: once, after commit, retried, failed."""

from datetime import timedelta

import pytest

from kernel import declarations as d
from kernel import hookimpl, outbox
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models import OutboxMessage
from kernel.services.uow import unit_of_work
from kernel.testing import build_app

SENT: list = []
MODE = {"fail": None}


def probe_send(recipient, subject, body, context):
    if MODE["fail"] == "temporary":
        raise outbox.TemporaryFailure("try later")
    if MODE["fail"] == "permanent":
        raise outbox.PermanentFailure("no such mailbox")
    SENT.append((recipient, subject, context["idempotency_key"]))


class ProbeChannel:
    @hookimpl
    def hookdesk_register_notification_channels(self):
        return [d.NotificationChannelDecl("probe", "Probe", probe_send)]


@pytest.fixture
def probe_app(tmp_path):
    SENT.clear()
    MODE["fail"] = None
    app = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": ProbeChannel()})
    with app.app_context():
        yield app
        db.session.remove()


def _row(key):
    db.session.rollback()
    return db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.key == key))


def test_sent_once_after_commit(probe_app):
    with unit_of_work():
        outbox.put("probe", "a@b.c", {"subject": "Hi"}, key="k1")
        outbox.put("probe", "a@b.c", {"subject": "Hi"}, key="k1")  # same effect again
        assert SENT == []
    assert SENT == [("a@b.c", "Hi", "k1")]
    assert _row("k1").status == "sent"
    assert outbox.deliver(_row("k1").id) == "sent"  # a repeated job sends nothing
    assert len(SENT) == 1


def test_nothing_on_rollback(probe_app):
    with pytest.raises(RuntimeError), unit_of_work():
        outbox.put("probe", "a@b.c", {"subject": "Hi"}, key="k2")
        raise RuntimeError
    assert SENT == [] and _row("k2") is None


def test_put_needs_a_unit_of_work_and_a_known_channel(probe_app):
    with pytest.raises(RuntimeError):
        outbox.put("probe", "a@b.c", {}, key="k3")
    with pytest.raises(ValidationFailed), unit_of_work():
        outbox.put("carrier-pigeon", "a@b.c", {}, key="k3")


def test_temporary_failure_backs_off_then_succeeds(probe_app):
    MODE["fail"] = "temporary"
    with unit_of_work():
        outbox.put("probe", "a@b.c", {"subject": "Hi"}, key="k4")
    row = _row("k4")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "TemporaryFailure: try later"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)
    MODE["fail"] = None
    with unit_of_work():
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
    assert outbox.sweep() == 1
    assert _row("k4").status == "sent" and len(SENT) == 1


def test_permanent_failure_is_not_retried_and_can_be_retried_by_hand(probe_app):
    MODE["fail"] = "permanent"
    with unit_of_work():
        outbox.put("probe", "a@b.c", {"subject": "Hi"}, key="k5")
    row = _row("k5")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no such mailbox" in row.last_error
    assert outbox.sweep() == 0
    MODE["fail"] = None
    outbox.retry(row)
    assert _row("k5").status == "sent"


def test_the_worker_sends_in_batches(probe_app):
    """120 letters due at once: claimed and recorded in a few write transactions
    (not two per letter), each sent once, and a job for a letter an earlier batch
    took writes nothing."""
    from sqlalchemy import event

    later = utcnow() + timedelta(hours=1)
    with unit_of_work():
        for n in range(120):
            outbox.put("probe", f"r{n}@b.c", {"subject": f"n{n}"}, key=f"b{n}", not_before=later)
    assert SENT == []
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()  # test setup: make them due
    first = _row("b0").id
    writes: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.startswith("BEGIN IMMEDIATE") or statement.startswith("UPDATE"):
            writes.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert outbox.deliver_due(first=first) == 120
        assert outbox.deliver_due(first=first + 1) == 0  # taken by the batch already
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sorted(key for _r, _s, key in SENT) == sorted(f"b{n}" for n in range(120))
    assert writes.count("BEGIN") <= 6  # 3 batches: a claim and a record each
    statuses = db.session.scalars(db.select(OutboxMessage.status).distinct()).all()
    assert statuses == ["sent"]
