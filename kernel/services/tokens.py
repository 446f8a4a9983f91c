"""Personal API tokens: create (the secret is shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.models import ApiToken, User
from kernel.services.uow import unit_of_work

SCHEME = "hd"


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
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.prefix == parts[1]))
    if row is None or not row.is_active:
        return None
    if not hmac.compare_digest(row.token_hash, _hash(parts[2])):
        return None
    if not row.user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now  # coarse, so every call does not write
        db.session.commit()
    return row.user


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
