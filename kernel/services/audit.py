"""Recording configuration changes (K3) in the same transaction as the change.

Service functions that change configuration are wrapped with ``@audited``: the
call and its audit row commit together, and a refused call leaves neither.
Arguments named like passwords or secrets are never written.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from kernel.db import db
from kernel.models.audit import AuditEntry
from kernel.services.history import _jsonable
from kernel.services.uow import unit_of_work

_HIDDEN = ("password", "secret", "token")


def record(action: str, target: str = "", data: dict | None = None, actor=None) -> AuditEntry:
    row = AuditEntry(action=action, target=target[:200], data=_jsonable(data or {}),
                     actor_id=getattr(actor, "id", None))
    db.session.add(row)
    return row


def _describe(value: Any) -> Any:
    """A JSON-friendly name for an argument: a row by its key, e-mail or name (or
    ``"<table> #<id>"``), an upload by its file name."""
    for attr in ("key", "email", "name"):
        if hasattr(value, attr) and hasattr(value, "id"):
            return getattr(value, attr)
    if hasattr(value, "__table__") and hasattr(value, "id"):
        return f"{value.__table__.name} #{value.id}"
    if hasattr(value, "read"):
        return getattr(value, "filename", None) or getattr(value, "name", None) or "file"
    return value


def audited(action: str) -> Callable:
    """Wrap a configuration service: its first argument names the target."""

    def wrap(func: Callable) -> Callable:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            actor = bound.arguments.get("actor")
            data = {
                name: _describe(value) for name, value in bound.arguments.items()
                if name != "actor" and not any(h in name for h in _HIDDEN)
            }
            first = next(iter(bound.arguments.values()), "")
            with unit_of_work():
                result = func(*args, **kwargs)
                record(action, str(_describe(first)), data, actor)
            return result

        return call

    return wrap


def recent(limit: int = 100, target: str | None = None, action: str | None = None):
    query = db.select(AuditEntry)
    if target:
        query = query.where(AuditEntry.target == target)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    return db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
