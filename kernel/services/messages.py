"""The thread of a ticket (K7): messages in time order, internal notes."""

from __future__ import annotations

from typing import Any

from kernel import permissions, signals, visibility
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models import Message, Ticket, User
from kernel.services import history
from kernel.services.tickets import touch
from kernel.services.uow import after_commit, unit_of_work

MAX_BODY = 100_000


def post(
    ticket: Ticket,
    body: str,
    actor: User | None = None,
    internal: bool = False,
    via: str | None = None,
    files: list[Any] | None = None,
    from_customer: bool = False,
) -> Message:
    """Add a message. Customers always write public messages; an agent's message
    is a reply to the customer unless ``internal``. Files become its attachments.
    ``from_customer`` (system actor only): the message is the ticket's customer's,
    brought by a channel that checked who wrote it (an e-mail from their address)."""
    permissions.require_view(actor, ticket)
    if actor is not None and actor.is_customer:
        if internal:
            raise ValidationFailed({"internal": "Customers cannot write internal notes."})
        kind = "customer"
    elif from_customer:
        if actor is not None or internal or ticket.customer_id is None:
            raise ValidationFailed({"from_customer": "Only the system posts for the customer "
                                    "of a ticket that has one, and never a note."})
        kind = "customer"
    else:
        permissions.require(actor, "tickets.note" if internal else "tickets.reply")
        kind = "agent" if actor is not None else "system"
    text = (body or "").strip() if isinstance(body, str) else None
    if text is None:
        raise ValidationFailed({"body": "Must be text."})
    if not text and not files:
        raise ValidationFailed({"body": "Write a message or attach a file."})
    if len(text) > MAX_BODY:
        raise ValidationFailed({"body": f"Longer than {MAX_BODY} characters."})
    with unit_of_work(keep_loaded=True):  # the caller answers from the message
        message = Message(
            ticket_id=ticket.id,
            author_id=actor.id if actor else None,
            author_kind=kind,
            body=text,
            internal=internal,
            created_at=utcnow(),
        )
        db.session.add(message)
        db.session.flush()
        touch(ticket, message.created_at)
        event = history.record(
            ticket,
            "message_posted",
            {"message_id": message.id, "internal": internal, "author_kind": kind},
            actor=actor,
            via=via,
        )
        if files:
            from kernel.services import attachments

            for upload in files:  # the permission to post covers its files
                attachments._attach(ticket, upload, actor=actor, message=message, via=via,
                                   internal=internal)
        after_commit(
            signals.message_posted, "kernel.messages", ticket=ticket, message=message,
            event=event, actor=actor,
        )
    return message


def thread(ticket: Ticket, viewer: User | None = None) -> list[Message]:
    """Messages in time order; internal notes only for those allowed to see them."""
    permissions.require_view(viewer, ticket)
    query = db.select(Message).where(Message.ticket_id == ticket.id,
                                     visibility.message_clause(viewer))
    return list(db.session.scalars(query.order_by(Message.created_at, Message.id)))
