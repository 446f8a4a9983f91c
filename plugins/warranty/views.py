"""Pages of the warranty plugin seen by buyers and agents: the plan image, the
defects panel on the claim card (plan with numbered marks, list, progress), a
defect added from the card, and an agent moving one defect to a new status.

Admin screens for houses, apartments and buyers are in ``plugins.warranty.admin``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from kernel import declarations as d
from kernel import permissions
from kernel.db import get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, User
from kernel.services import tickets
from plugins.warranty import defects
from plugins.warranty import property as prop
from plugins.warranty.models import DEFECT_STATUSES, Apartment
from web import i18n
from web.auth import login_required, viewer

bp = Blueprint("warranty", __name__, url_prefix="/warranty", template_folder="templates",
               static_folder="static", static_url_path="/static")

STATUS_LABELS = {
    "new": N_("Not started"),
    "in_progress": N_("In progress"),
    "fixed": N_("Fixed"),
    "rejected": N_("Declined"),
}
STATUS_TONES = {"new": "info", "in_progress": "warning", "fixed": "success",
                "rejected": "neutral"}


def card_panels(ticket: Ticket, viewer_: User) -> list[d.Panel] | None:
    """The defects panel on a claim's card, for agents and for the buyer."""
    apartment = prop.apartment_of(ticket)
    found = defects.for_ticket(ticket)
    if not found and (apartment is None or not defects.enabled()):
        return None
    done, total = sum(df.is_done for df in found), len(found)
    categories = defects.categories()
    can_work = not viewer_.is_customer and permissions.has(viewer_, defects.WORK)
    can_add = defects.enabled() and not ticket.is_closed and (
        viewer_.is_customer or can_work)
    return [d.Panel(
        "warranty.defects", N_("Defects"), "warranty/_defects_panel.html", order=10,
        context={
            "defects": found, "apartment": apartment, "done": done, "total": total,
            "category_labels": dict(categories), "categories": categories,
            "status_labels": STATUS_LABELS, "status_tones": STATUS_TONES,
            "statuses": DEFECT_STATUSES, "can_work": can_work, "can_add": can_add,
            "photos": {df.id: defects.photos_of(df, viewer_) for df in found},
            "max_photos": defects.MAX_PHOTOS,
        },
        audience="customer",  # the buyer sees their claim's defects too (W4)
    )]


@bp.get("/apartments/<int:apartment_id>/plan")
@login_required
def plan(apartment_id: int):
    """The apartment's plan image: for agents, and for buyers who own it (404 otherwise)."""
    apartment = get_by_id(Apartment, apartment_id)
    if apartment is None or not apartment.has_plan or not prop.can_view_plan(viewer(),
                                                                             apartment):
        abort(404)
    response = send_file(prop.open_plan(apartment), mimetype=apartment.plan_content_type,
                         etag=apartment.plan_sha256, max_age=3600, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _card_url(ticket: Ticket) -> str:
    if viewer().is_customer:
        return url_for("portal.ticket", ticket_id=ticket.id, _anchor="defects")
    return url_for("agent.ticket", ticket_id=ticket.id, _anchor="defects")


def _ticket(ticket_id: int) -> Ticket:
    try:
        return tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)


def _flash_errors(exc: ValidationFailed) -> None:
    for messages in i18n.translate_errors(exc.errors).values():
        for message in messages:
            flash(message, "error")


@bp.post("/tickets/<int:ticket_id>/defects")
@login_required
def add_defect(ticket_id: int):
    """A defect added from the claim's card (buyer on an open claim, or an agent)."""
    ticket = _ticket(ticket_id)
    data = {"category": request.form.get("category", ""),
            "description": request.form.get("description", ""),
            "x": _float(request.form.get("x")), "y": _float(request.form.get("y"))}
    photos = [f for f in request.files.getlist("photos") if f and f.filename]
    try:
        defect = defects.add(ticket, data, photos, actor=viewer(), via="web")
    except ValidationFailed as exc:
        _flash_errors(exc)
    except PermissionDenied:
        abort(403)
    else:
        flash(_("Defect %(n)s is added.", n=defect.position), "success")
    return redirect(_card_url(ticket), code=303)


def _float(raw: str | None) -> float | str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return raw


@bp.post("/tickets/<int:ticket_id>/defects/<int:defect_id>/status")
@login_required
def defect_status(ticket_id: int, defect_id: int):
    """An agent moves one defect to another status (W4)."""
    ticket = _ticket(ticket_id)
    if viewer().is_customer:
        abort(404)
    try:
        defect = defects.get(ticket, defect_id)
        defects.set_status(ticket, defect, request.form.get("status", ""), actor=viewer(),
                           via="web")
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as exc:
        _flash_errors(exc)
    else:
        flash(_("Defect %(n)s: %(status)s.", n=defect.position,
                status=i18n.translate_label(STATUS_LABELS[defect.status])), "success")
    return redirect(_card_url(ticket), code=303)
