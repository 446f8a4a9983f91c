"""The plugin's service layer: the only place ratings are written.

Like the kernel's services, each command checks permissions and validates
first (nothing is written on a refusal), then writes inside one unit of work
together with the history event it puts on the ticket's timeline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hookdesk_example.models import SCORE_MAX, SCORE_MIN, Rating
from kernel import permissions
from kernel.db import db, utcnow
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, User
from kernel.services import tickets
from kernel.services.uow import unit_of_work

EVENT_KIND = "example.rated"
AWAITING = "example_awaiting_rating"  # the status the plugin adds to the "support" pipeline
VIEW_PERMISSION = "example.view_ratings"
MAX_COMMENT = 2000


CHOOSE_SCORE = N_("Choose a score.")
WHOLE_SCORE = N_("Choose a whole number from 1 to 5.")
ONLY_CUSTOMER = N_("Only the ticket's customer can rate it.")
NOT_TEXT = N_("Must be text.")


def _score(raw: Any) -> int:
    """A score from a form or JSON: ``4`` or ``"4"``; anything else is refused."""
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            raise ValidationFailed({"score": CHOOSE_SCORE})
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValidationFailed({"score": WHOLE_SCORE})
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed({"score": WHOLE_SCORE}) from None
    if (isinstance(raw, float) and raw != value) or not SCORE_MIN <= value <= SCORE_MAX:
        raise ValidationFailed({"score": WHOLE_SCORE})
    return value


def rate(
    ticket: Ticket,
    score: Any,
    comment: str | None = "",
    actor: User | None = None,
    via: str | None = None,
) -> Rating:
    """Record the customer's rating of ``ticket`` (replacing an earlier one).

    Only the ticket's own customer may rate: a customer of another ticket gets
    ``NotFound`` (its existence does not leak), anybody else ``PermissionDenied``.
    A bad ``score`` or ``comment`` raises ``ValidationFailed`` naming the field."""
    permissions.require_view(actor, ticket)
    if actor is None or not actor.is_customer:
        raise PermissionDenied(ONLY_CUSTOMER)
    value = _score(score)
    text = comment if comment is not None else ""
    if not isinstance(text, str):
        raise ValidationFailed({"comment": NOT_TEXT})
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed({"comment": f"Longer than {MAX_COMMENT} characters."})
    with unit_of_work():
        rating = rating_of(ticket)
        previous = rating.score if rating is not None else None
        now = utcnow()
        if rating is None:
            rating = Rating(ticket_id=ticket.id, created_at=now)
            db.session.add(rating)
        rating.author_id = actor.id
        rating.score = value
        rating.comment = text
        rating.updated_at = now
        db.session.flush()
        # Joins this unit of work: the rating and its timeline event commit together.
        tickets.record_custom_event(
            ticket, EVENT_KIND, {"score": value, "previous": previous, "comment": text[:200]},
            actor=actor, via=via,
        )
        move(ticket, AWAITING, "resolved")  # rated: no longer awaiting a rating
    return rating


def move(ticket: Ticket, from_key: str, to_key: str) -> None:
    """Move ``ticket`` from status ``from_key`` to ``to_key`` as the system, when it is
    there and its pipeline allows it (the statuses exist in the "support" pipeline)."""
    pipeline, target = ticket.status.pipeline, ticket.status.pipeline.status(to_key)
    if ticket.status.key == from_key and target and pipeline.allows(ticket.status, target):
        tickets.transition(ticket, to_key, actor=None, via="example")


def rating_of(ticket: Ticket) -> Rating | None:
    return db.session.scalar(db.select(Rating).where(Rating.ticket_id == ticket.id))


def can_rate(viewer: User | None, ticket: Ticket) -> bool:
    return (
        viewer is not None
        and viewer.is_customer
        and permissions.can_view_ticket(viewer, ticket)
    )


def recent(viewer: User | None, limit: int = 100) -> list[Rating]:
    """The latest ratings, newest first, for agents allowed to see them."""
    permissions.require(viewer, VIEW_PERMISSION)
    query = db.select(Rating).order_by(Rating.updated_at.desc(), Rating.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def summary(days: int | None = None) -> dict[str, Any]:
    """``{"count", "average", "by_score": {1: n, ..., 5: n}}`` — of the last
    ``days`` days when given. ``average`` is None without ratings."""
    query = db.select(Rating.score, db.func.count()).group_by(Rating.score)
    if days is not None:
        query = query.where(Rating.updated_at >= utcnow() - timedelta(days=days))
    by_score = {score: 0 for score in range(SCORE_MIN, SCORE_MAX + 1)}
    for score, count in db.session.execute(query):
        by_score[score] = count
    count = sum(by_score.values())
    total = sum(score * n for score, n in by_score.items())
    return {
        "count": count,
        "average": round(total / count, 2) if count else None,
        "by_score": by_score,
    }
