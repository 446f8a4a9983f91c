"""The plugin's pages: a blueprint named after the plugin, with its templates
under ``templates/example/`` so they never clash with another plugin's."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from hookdesk_example import ratings
from hookdesk_example.models import SCORE_MAX, SCORE_MIN
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import User
from kernel.services import tickets

bp = Blueprint("example", __name__, url_prefix="/example", template_folder="templates")


def current_user() -> User | None:
    """The signed-in user: the application puts it in ``g.user`` before every
    request (None for a visitor who has not signed in)."""
    user = g.get("user")
    return user if user is not None and user.is_active else None


def _viewer() -> User:
    user = current_user()
    if user is None:
        manager = getattr(current_app, "login_manager", None)
        if manager is not None:
            abort(manager.unauthorized())  # to the sign-in page, and back here after
        abort(401)
    return user


@bp.get("/ratings")
def ratings_page():
    """Agents with ``example.view_ratings``: the latest ratings and the average."""
    viewer = _viewer()
    try:
        rows = ratings.recent(viewer)
    except PermissionDenied:
        abort(403)
    return render_template(
        "example/ratings.html", rows=rows, summary=ratings.summary(), scores=_scores()
    )


@bp.route("/tickets/<int:ticket_id>/rate", methods=["GET", "POST"])
def rate_ticket(ticket_id: int):
    """The ticket's customer rates how the ticket was handled."""
    viewer = _viewer()
    try:
        ticket = tickets.require_ticket(ticket_id, viewer)
    except NotFound:
        abort(404)
    errors: dict[str, list[str]] = {}
    form = {"score": "", "comment": ""}
    status = 200
    if request.method == "POST":
        form = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "")}
        try:
            ratings.rate(ticket, form["score"], form["comment"], actor=viewer, via="web")
        except PermissionDenied:
            abort(403)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            return redirect(url_for(".rate_ticket", ticket_id=ticket.id, saved=1), code=303)
    rating = ratings.rating_of(ticket)
    if rating is not None and request.method == "GET":
        form = {"score": str(rating.score), "comment": rating.comment}
    return render_template(
        "example/rate.html",
        ticket=ticket,
        rating=rating,
        can_rate=ratings.can_rate(viewer, ticket),
        form=form,
        errors=errors,
        saved=request.args.get("saved") == "1",
        scores=_scores(),
    ), status


def _scores() -> list[int]:
    return list(range(SCORE_MAX, SCORE_MIN - 1, -1))
