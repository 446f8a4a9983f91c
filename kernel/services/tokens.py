"""Personal API tokens: create (the secret is shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.models import ApiToken, User
from kernel.services.uow import unit_of_work

SCHEME = "hd"
# A token's "last used" is a coarse stamp: written at most once a minute, so a
# burst of API calls does not turn every read into a write.
STAMP_EVERY = timedelta(minutes=1)

log = logging.getLogger("hookdesk.tokens")
_stamped: dict[str, float] = {}  # token prefix -> monotonic time this process last stamped it
_stamped_lock = threading.Lock()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(user: User, name: str, actor: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the full token, shown only now."""
    if actor is not None and actor.id != user.id:
        permissions.require(actor, "admin.users")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": "Give the token a name of 1 to 100 characters."})
    if not user.is_active:
        raise ValidationFailed({"user": "The user is deactivated."})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with unit_of_work():
        row = ApiToken(user_id=user.id, name=name, prefix=prefix, token_hash=_hash(secret))
        db.session.add(row)
    return row, f"{SCHEME}_{prefix}_{secret}"


def prefix_of(token: str) -> str | None:
    """The public prefix of a well-formed token (``hd_<prefix>_<secret>``)."""
    parts = (token or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or not parts[1]:
        return None
    return parts[1][:32]


def authenticate(token: str) -> User | None:
    """The active user behind a token, or None (unknown, revoked, malformed)."""
    parts = (token or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    # The token, its user and the user's roles in one statement: every API call
    # starts here.
    row = db.session.scalars(
        db.select(ApiToken).where(ApiToken.prefix == parts[1])
        .options(joinedload(ApiToken.user).joinedload(User.roles))
    ).unique().first()
    if row is None or not row.is_active:
        return None
    if not hmac.compare_digest(row.token_hash, _hash(parts[2])):
        return None
    if not row.user.is_active:
        return None
    _stamp_use(row)
    return row.user


def _stamp_use(row: ApiToken) -> None:
    """Record that ``row`` was used, at most once a minute per token.

    The write is a unit of work of its own (on SQLite it waits for other writers
    instead of failing) and a conditional UPDATE, so concurrent requests and
    several web workers stamp a token once; a stamp that still cannot be written
    is skipped, never the caller's request."""
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < STAMP_EVERY:
        return
    tick = time.monotonic()
    with _stamped_lock:
        if tick - _stamped.get(row.prefix, float("-inf")) < STAMP_EVERY.total_seconds():
            return
        _stamped[row.prefix] = tick
    try:
        with unit_of_work():
            db.session.execute(
                update(ApiToken)
                .where(ApiToken.id == row.id, or_(ApiToken.last_used_at.is_(None),
                                                 ApiToken.last_used_at < now - STAMP_EVERY))
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    except OperationalError:
        log.warning("could not record the use of API token %s; will try again", row.id)
        with _stamped_lock:
            _stamped.pop(row.prefix, None)


def revoke(token_id: int, actor: User) -> ApiToken:
    row = get_by_id(ApiToken, token_id)
    if row is None or (row.user_id != actor.id and not permissions.has(actor, "admin.users")):
        raise NotFound("Token not found.")
    with unit_of_work():
        if row.revoked_at is None:
            row.revoked_at = utcnow()
    return row


def for_user(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))
