"""The kernel's part of e-mail threading (M3) and loop protection (M4): letters
about a ticket carry its ref signed in Message-ID and References; ``ref_of``
reads it back only when the signature checks; letters to a suppressed address
are written ``suppressed`` and never sent."""

from __future__ import annotations

import pytest

from kernel import mail
from kernel.db import db
from kernel.models.outbox import OutboxMessage

pytestmark = pytest.mark.plugins()


def test_a_letter_about_a_ticket_carries_its_ref_signed(app):
    message_id = mail.message_id_for("notify-1-a@b", "ticket:42")
    assert message_id == mail.message_id_for("notify-1-a@b", "ticket:42")  # stable
    assert ".ticket-42." in message_id
    assert mail.ref_of(f"<other@x> {message_id}") == "ticket:42"
    assert mail.ref_of(mail.thread_id_for("ticket:42")) == "ticket:42"
    assert mail.is_ours(message_id) and mail.is_ours(mail.message_id_for("plain-key"))
    assert not mail.is_ours("<abc@gmail.com>")


def test_a_made_up_or_altered_id_points_nowhere(app):
    genuine = mail.message_id_for("k", "ticket:42")
    assert mail.ref_of(genuine.replace("ticket-42", "ticket-43")) is None
    assert mail.ref_of("<0123456789abcdef01234567.ticket-7.0123456789ab@x>") is None
    app.config["HOOKDESK_SECRET_KEY"] = "another-secret"
    assert mail.ref_of(genuine) is None


def test_put_adds_the_thread_headers_and_suppression_holds_letters_back(app):
    with mail.automatic_letters_suppressed(["Robot@Example.ru"], "an auto-reply"):
        mail.put({"to": "Robot <robot@example.ru>", "subject": "s", "text": "t"}, key="k1",
                 ref="ticket:5")
        mail.put({"to": "human@example.ru", "subject": "s", "text": "t"}, key="k2",
                 ref="ticket:5")
    mail.put({"to": "robot@example.ru", "subject": "s", "text": "t"}, key="k3", ref="ticket:5")
    rows = {r.key: r for r in db.session.scalars(db.select(OutboxMessage))}
    assert (rows["k1"].status, rows["k1"].last_error) == ("suppressed", "an auto-reply")
    assert rows["k2"].status != "suppressed" and rows["k3"].status != "suppressed"
    headers = rows["k2"].payload["headers"]
    assert headers["X-Hookdesk-Ref"] == "ticket:5"
    assert headers["References"] == mail.thread_id_for("ticket:5")
