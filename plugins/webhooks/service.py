"""Managing webhook endpoints (admin only)."""

from __future__ import annotations

import secrets
from typing import Any

from kernel import netguard, permissions, runtime
from kernel.db import db, get_by_id
from kernel.errors import NotFound, ValidationFailed
from kernel.models import User
from kernel.services.uow import unit_of_work
from plugins.webhooks.models import Endpoint


def _check(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if "url" in data or not partial:
        url = str(data.get("url") or "").strip()
        problem = netguard.url_problem(url)
        if problem:
            errors["url"] = problem
        data["url"] = url
    if "events" in data or not partial:
        events = data.get("events") or ["*"]
        known = set(runtime.host().registry.event_kinds) | {"*"}
        unknown = [e for e in events if e not in known]
        if unknown:
            errors["events"] = (f"Unknown event kind(s): {', '.join(map(str, unknown))}; known: "
                                f"{', '.join(sorted(known))}.")
        data["events"] = list(dict.fromkeys(events))
    if len(str(data.get("description") or "")) > 200:
        errors["description"] = "At most 200 characters."
    if errors:
        raise ValidationFailed(errors)
    return data


def create(data: dict[str, Any], actor: User | None = None) -> Endpoint:
    permissions.require(actor, "admin.settings")
    data = _check(dict(data), partial=False)
    with unit_of_work():
        row = Endpoint(url=data["url"], events=data["events"], secret=secrets.token_hex(24),
                       description=data.get("description") or "",
                       is_active=bool(data.get("is_active", True)))
        db.session.add(row)
    return row


def update(endpoint: Endpoint, data: dict[str, Any], actor: User | None = None) -> Endpoint:
    permissions.require(actor, "admin.settings")
    data = _check(dict(data), partial=True)
    with unit_of_work():
        for key in ("url", "events", "description", "is_active"):
            if key in data:
                setattr(endpoint, key, data[key])
    return endpoint


def get(endpoint_id: int, actor: User | None = None) -> Endpoint:
    permissions.require(actor, "admin.settings")
    row = get_by_id(Endpoint, endpoint_id)
    if row is None:
        raise NotFound("Webhook not found.")
    return row


def delete(endpoint: Endpoint, actor: User | None = None) -> None:
    permissions.require(actor, "admin.settings")
    with unit_of_work():
        db.session.delete(endpoint)
