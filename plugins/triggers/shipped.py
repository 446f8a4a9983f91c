"""Rules plugins ship (``hookdesk_register_trigger_rules``): each is written once,
when no rule of its name exists, and remembered in ``triggers_meta`` — so a
shipped rule an admin edited, switched off or deleted stays as the admin left
it after every restart."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel import runtime
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.services.uow import unit_of_work
from plugins.triggers import service
from plugins.triggers.models import Meta, Rule


def _marker(name: str) -> str:
    return "shipped:" + hashlib.sha256(name.encode()).hexdigest()[:40]


def install(app) -> list[str]:
    """Write the shipped rules not written before; return the names written."""
    declared = []
    for plugin, answer in runtime.host().collect("hookdesk_register_trigger_rules"):
        declared.extend((plugin, decl) for decl in answer or [])
    written: list[str] = []
    for plugin, decl in declared:
        marker = _marker(decl.name)
        if db.session.get(Meta, marker) is not None:
            continue
        data = {"name": decl.name, "description": decl.description, "active": decl.active,
                "events": list(decl.events), "conditions": dict(decl.conditions),
                "actions": [dict(a) for a in decl.actions], "position": decl.position}
        try:
            with unit_of_work():
                if db.session.scalar(select(Rule.id).where(Rule.name == decl.name)) is None:
                    service.create(data, actor=None)
                    written.append(decl.name)
                db.session.add(Meta(key=marker, value=decl.name[:200]))
        except ValidationFailed as exc:
            app.logger.warning("triggers: skipped the rule %r shipped by %s: %s", decl.name,
                               plugin, exc.errors)
        except IntegrityError:  # another process wrote it at the same moment
            db.session.rollback()
    return written
