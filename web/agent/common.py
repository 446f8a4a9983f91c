"""Helpers the agent pages share: who may see customers, lateness of a deadline,
URLs that keep the table's filters, the agents one can assign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from kernel import phones, runtime, visibility
from kernel.db import db, utcnow
from kernel.models import Ticket, User


def can_see_customers(user: User | None) -> bool:
    """A3: existing customers are shown only with "can see customers" (the kernel's
    visibility policy decides)."""
    return user is not None and visibility.sees_customers(user)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    """Deadline passed and the ticket is not closed (seed 001 "Просроченные")."""
    return (ticket.deadline is not None and not ticket.is_closed
            and aware(ticket.deadline) < (now or utcnow()))


def lateness(deadline: datetime, now: datetime | None = None) -> str:
    """How late: "2 d 3 h late", "3 h 5 min late", "12 min late"."""
    seconds = max(0, int(((now or utcnow()) - aware(deadline)).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = max(1, rest // 60) if not days and not hours else rest // 60
    if days:
        return _("%(days)s d %(hours)s h late", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)s min late", hours=hours, minutes=minutes)
    return _("%(minutes)s min late", minutes=minutes)


def agents() -> list[User]:
    """Active agents, by name: who a ticket can be assigned to."""
    return list(db.session.scalars(
        db.select(User).where(User.kind == "agent", User.is_active.is_(True))
        .options(lazyload(User.roles)).order_by(User.name, User.email)))


def table_url(**changes: Any) -> str:
    """The current page's URL with some query arguments changed (None drops one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def phone_actions(phone: str, viewer: User | None, ticket: Ticket | None = None) -> list:
    """Icons plugins put next to a phone (T3), e.g. call and SMS."""
    if viewer is None or not viewer.is_agent:
        return []
    found = []
    for _plugin, answer in runtime.host().collect(
        "hookdesk_phone_actions", phone=str(phone), viewer=viewer, ticket=ticket
    ):
        found.extend(answer or [])
    return sorted(found, key=lambda action: action.key)


def show_phone(number: str) -> str:
    return phones.display(number)


def register(app) -> None:
    app.jinja_env.globals.update(
        agent_lateness=lateness, agent_is_overdue=is_overdue, agent_table_url=table_url,
        agent_phone_actions=phone_actions, agent_show_phone=show_phone,
    )
