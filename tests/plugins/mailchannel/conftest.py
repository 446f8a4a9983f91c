"""Fixtures of the e-mail channel's tests: a mailbox, the letters Hookdesk
wrote (as the outbox would send them), and taking letters in."""

from __future__ import annotations

import pytest


@pytest.fixture
def inbox(app):
    from kernel.services.uow import unit_of_work
    from plugins.mailchannel.models import MailMailbox

    with unit_of_work():
        row = MailMailbox(name="Support", address="support@desk.example", queue="",
                          ticket_type="", create_customers=True)
        from kernel.db import db

        db.session.add(row)
    return row


@pytest.fixture
def take(inbox):
    """``take(raw)`` -> the Outcome of ingesting ``raw`` into the support mailbox."""
    from plugins.mailchannel import service

    return lambda raw, mailbox=inbox, **kw: service.ingest(raw, mailbox, **kw)


def _build(row):
    from kernel import mail

    payload = dict(row.payload or {})
    return mail.build({
        "to": row.recipient, "subject": payload.get("subject", ""), "text": payload.get("body"),
        "html": payload.get("html"), "headers": payload.get("headers"),
        "from": payload.get("from"), "message_id": payload.get("message_id_header"),
    })


@pytest.fixture
def outgoing(app):
    """``outgoing(to=None, status=...)`` -> the letters Hookdesk
    would send (EmailMessage), oldest first."""
    from kernel.db import db
    from kernel.models.outbox import OutboxMessage

    def letters(to=None, status=("pending", "held", "sent", "sending")):
        rows = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.channel == "email", OutboxMessage.status.in_(status))
            .order_by(OutboxMessage.id)).all()
        return [_build(r) for r in rows if to is None or to in r.recipient.lower()]

    return letters
