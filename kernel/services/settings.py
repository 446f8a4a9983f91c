"""Live deployment settings, with defaults from ``hookdesk_register_settings``."""

from __future__ import annotations

from typing import Any

from kernel import permissions, runtime
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import Setting, TicketType, User
from kernel.services.audit import audited
from kernel.services.uow import unit_of_work


def get(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, key)
    if row is not None:
        return row.value
    declared = runtime.host().registry.setting_default(key)
    return declared if declared is not None else default


@audited("settings.set")
def set(key: str, value: Any, actor: User | None = None) -> None:  # noqa: A001
    permissions.require(actor, "admin.settings")
    registry = runtime.host().registry
    if key not in registry.settings and not key.startswith("demo."):
        raise ValidationFailed({key: "Unknown setting."})
    if key == "kernel.default_ticket_type" and value is not None and db.session.scalar(
        db.select(TicketType).where(TicketType.key == value)
    ) is None:
        raise ValidationFailed({key: f"Unknown ticket type {value!r}."})
    with unit_of_work():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
