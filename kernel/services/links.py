"""Typed links between tickets (a contact converted into a service request, a
claim linked to an order)."""

from __future__ import annotations

from kernel import permissions, signals
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import Ticket, TicketLink, User
from kernel.services import history
from kernel.services.uow import after_commit, unit_of_work

KINDS = ("related", "converted_to", "duplicate_of", "parent_of", "continues")


def link(
    source: Ticket,
    target: Ticket,
    kind: str = "related",
    actor: User | None = None,
    via: str | None = None,
) -> TicketLink:
    permissions.require_view(actor, source)
    permissions.require_view(actor, target)
    permissions.require(actor, "tickets.edit")
    if kind not in KINDS:
        raise ValidationFailed({"kind": f"Unknown link kind {kind!r}; known: {', '.join(KINDS)}."})
    if source.id == target.id:
        raise ValidationFailed({"target": "A ticket cannot be linked to itself."})
    existing = db.session.scalar(
        db.select(TicketLink).where(
            TicketLink.source_id == source.id,
            TicketLink.target_id == target.id,
            TicketLink.kind == kind,
        )
    )
    if existing is not None:
        return existing
    with unit_of_work():
        row = TicketLink(source_id=source.id, target_id=target.id, kind=kind)
        db.session.add(row)
        db.session.flush()
        history.record(source, "linked", {"kind": kind, "target": target.number,
                                          "target_id": target.id}, actor=actor, via=via)
        history.record(target, "linked", {"kind": kind, "source": source.number,
                                          "source_id": source.id, "incoming": True},
                       actor=actor, via=via)
        after_commit(signals.tickets_linked, "kernel.links", link=row, source=source,
                     target=target, actor=actor)
    return row


def links_of(ticket: Ticket) -> list[TicketLink]:
    return list(
        db.session.scalars(
            db.select(TicketLink)
            .where((TicketLink.source_id == ticket.id) | (TicketLink.target_id == ticket.id))
            .order_by(TicketLink.id)
        )
    )
