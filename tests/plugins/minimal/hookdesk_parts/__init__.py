"""Spare parts: agents order parts for a request, which then waits for them.

The plugin a newcomer writes from docs/plugins.md and docs/internals.md alone: a
field, a status in the helpdesk's pipeline, its own table and migration, an
agents' page, a card panel and a trigger action — no workaround.
"""

from __future__ import annotations

import os
from datetime import datetime

from flask import Blueprint, abort, g, render_template
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel import declarations as d
from kernel import hookimpl, permissions
from kernel.db import UTCDateTime, db, utcnow
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket
from kernel.services import tickets
from kernel.services.uow import unit_of_work

WAITING = "parts_waiting"


class PartOrder(db.Model):
    __tablename__ = "parts_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship()


# -- the service ----------------------------------------------------------------------


def order_part(ticket, name, actor=None, via=None) -> PartOrder:
    """Order a part for ``ticket``; a ticket in progress then waits for parts."""
    permissions.require_view(actor, ticket)
    permissions.require(actor, "tickets.edit")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 200:
        raise ValidationFailed({"name": "Name the part (1 to 200 characters)."})
    with unit_of_work():
        order = PartOrder(ticket_id=ticket.id, name=name)
        db.session.add(order)
        db.session.flush()
        tickets.record_custom_event(ticket, "parts.ordered", {"name": name}, actor=actor,
                                    via=via)
        target = ticket.status.pipeline.status(WAITING)
        if target is not None and ticket.status.pipeline.allows(ticket.status, target):
            tickets.transition(ticket, WAITING, actor=actor, via=via)
    return order


def parts_of(ticket) -> list[PartOrder]:
    return list(db.session.scalars(db.select(PartOrder).where(PartOrder.ticket_id == ticket.id)
                                   .order_by(PartOrder.id)))


# -- declarations -----------------------------------------------------------------------


@hookimpl
def hookdesk_register_extensions():
    return [
        d.PipelineExtension("support", [d.StatusDecl(WAITING, N_("Waiting for parts"))],
                            [("in_progress", WAITING), (WAITING, "in_progress")]),
        d.TicketTypeExtension("request", [d.FieldDecl("parts_supplier", "text",
                                                      N_("Supplier"), max_length=200)]),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    return [d.EventKindDecl("parts.ordered", N_("Part ordered"))]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


def order_action(ticket, event, params, context=None):
    order_part(ticket, params.get("name"), actor=None, via="parts")


@hookimpl
def hookdesk_register_trigger_actions():
    return [d.TriggerActionDecl("parts.order", N_("Order a part"), order_action,
                                params=[d.FieldDecl("name", "text", N_("Part"))])]


# -- pages --------------------------------------------------------------------------------

bp = Blueprint("parts", __name__, url_prefix="/parts", template_folder="templates")


@bp.get("/")
def recent():
    """Agents: the latest part orders."""
    if g.get("user") is None:
        abort(401)
    try:
        permissions.require(g.user, "tickets.view")
    except PermissionDenied:
        abort(403)
    rows = db.session.scalars(db.select(PartOrder).order_by(PartOrder.id.desc()).limit(100))
    return render_template("parts/recent.html", rows=list(rows))


@hookimpl
def hookdesk_register_blueprints():
    return [bp]


@hookimpl
def hookdesk_navigation_items(viewer):
    return [d.NavItem("parts.recent", N_("Parts"), "/parts/", permission="tickets.view")]


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    if not permissions.has(viewer, "tickets.view"):  # agents only
        return None
    return [d.Panel("parts.orders", N_("Parts"), "parts/panel.html",
                    {"parts": parts_of(ticket)}, placement="side", audience="staff")]
