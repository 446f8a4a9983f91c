"""The pipeline board (A4): a column per status of a ticket type's pipeline, in
order, with counts; a card moves to another status by drag and drop (agent.js)
or by its "Move to" menu. A move the pipeline forbids is refused with its
message and the card stays where it was."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import db, get_by_id
from kernel.errors import Conflict, NotFound, TransitionRefused
from kernel.models import Ticket, TicketType
from kernel.services import queries, tickets
from web import i18n
from web.agent import bp
from web.agent.common import can_see_customers
from web.auth import permission_required, viewer

PER_COLUMN = 50


def _types() -> list[TicketType]:
    return list(db.session.scalars(
        db.select(TicketType).where(TicketType.is_active.is_(True))
        .order_by(TicketType.order, TicketType.name)))


@bp.get("/board")
@permission_required("tickets.view")
def board():
    user = viewer()
    types = _types()
    ttype = next((t for t in types if t.key == request.args.get("type")),
                 types[0] if types else None)
    if ttype is None:
        abort(404)
    pipeline = ttype.pipeline
    columns = []
    for status in pipeline.statuses:
        page = queries.list_tickets(
            user, queries.TicketFilter(types=[ttype.key], statuses=[status.key]),
            sort="-updated_at", per_page=PER_COLUMN)
        if status.archived_at is not None and not page.items:
            continue  # an archived status shows only while tickets are still in it
        columns.append((status, page))
    allowed = {s.id: [n.key for n in pipeline.next_statuses(s)] for s in pipeline.statuses}
    return render_template("agent/board.html", types=types, ttype=ttype, columns=columns,
                           allowed=allowed, show_customer=can_see_customers(user),
                           per_column=PER_COLUMN)


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@bp.post("/board/move")
@permission_required("tickets.transition")
def move():
    user = viewer()
    raw = request.form.get("ticket_id", "")
    ticket = get_by_id(Ticket, raw) if raw.isdigit() else None
    try:
        ticket = tickets.require_ticket(ticket.id if ticket else 0, user)
    except NotFound:
        abort(404)
    back = url_for("agent.board", type=ticket.type.key)
    target_key = request.form.get("status", "")
    pipeline = ticket.type.pipeline
    target = pipeline.status(target_key)
    version = request.form.get("expected_version", "")
    message = None
    if target is None:
        message = _("Unknown status.")
    elif target.id == ticket.status_id:
        message = _("The ticket is already in this status.")
    elif not pipeline.allows(ticket.status, target):
        message = _("The pipeline does not allow moving a ticket from “%(from)s” to “%(to)s”.",
                    **{"from": i18n.translate_label(ticket.status.name),
                       "to": i18n.translate_label(target.name)})
    else:
        try:
            tickets.transition(ticket, target.key, actor=user,
                               expected_version=int(version) if version.isdigit() else None)
        except Conflict:
            message = _("Someone changed this ticket at the same time. Reload the board.")
        except TransitionRefused as exc:
            message = i18n.translate_message(exc.message)
    if message is not None:
        if _wants_json():
            return jsonify(ok=False, message=message, status=ticket.status.key), 409
        flash(f"{ticket.number}: {message}", "error")
        return redirect(back, code=303)
    if _wants_json():
        return jsonify(ok=True, status=target.key, version=ticket.version,
                       allowed=[s.key for s in pipeline.next_statuses(target)])
    flash(_("%(number)s moved to “%(status)s”.", number=ticket.number,
            status=i18n.translate_label(target.name)), "success")
    return redirect(back, code=303)

