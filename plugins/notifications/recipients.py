"""Which employees hear of an event, and by which channel (A5) — the one place
that decides it; letters and messages are written elsewhere (``service``).

Three layers, per employee, event and channel:

1. the event's default (``service.AGENT_EVENTS``; following a queue is off);
2. the administrator's rules for others (``Rule``): one for the employee
   (``user:<id>``) outranks those of their roles (``role:<key>``); among
   roles, "on" wins;
3. the employee's own choice (``Preference``) may narrow: turn off what is on.
   What a rule turns off stays off.

Channels: e-mail (the employee's address) and every channel a plugin declares
with ``NotificationChannelDecl.address_of`` (how to reach an employee there).
Nobody inactive, no customer, nobody without an address on the channel.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from kernel import permissions, runtime
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Role, User
from kernel.services.uow import unit_of_work
from plugins.notifications.models import Preference, Rule

EMAIL = "email"
ROLE, USER = "role:", "user:"


# -- channels ----------------------------------------------------------------------


def channels() -> list[tuple[str, str]]:
    """``[(key, label)]`` of the channels employees can be reached by, e-mail first."""
    found = [(EMAIL, N_("E-mail"))]
    for key, entry in sorted(runtime.host().registry.notification_channels.items()):
        if key != EMAIL and entry.decl.address_of is not None:
            found.append((key, entry.decl.label))
    return found


def address(user: User, channel: str) -> str | None:
    if channel == EMAIL:
        return user.email or None
    entry = runtime.host().registry.notification_channels.get(channel)
    if entry is None or entry.decl.address_of is None:
        return None
    return entry.decl.address_of(user) or None


# -- targets -----------------------------------------------------------------------


def user_target(user: User) -> str:
    return f"{USER}{user.id}"


def role_target(key: str) -> str:
    return f"{ROLE}{key}"


def targets_of(user: User) -> list[str]:
    return [user_target(user)] + [role_target(r.key) for r in user.roles]


def check_target(target: str) -> User | Role:
    """The role or employee ``target`` names; ``ValidationFailed`` naming ``target``."""
    found: User | Role | None = None
    if isinstance(target, str) and target.startswith(ROLE):
        found = db.session.scalar(select(Role).where(Role.key == target[len(ROLE):]))
    elif isinstance(target, str) and target.startswith(USER) and target[len(USER):].isdigit():
        user = db.session.get(User, int(target[len(USER):]))
        found = user if user is not None and user.is_agent else None
    if found is None:
        raise ValidationFailed({"target": "Choose a role or an employee."})
    return found


# -- the decision ------------------------------------------------------------------


def decide(admin: bool | None, own: bool | None, default: bool) -> bool:
    """Layers 1-3 of the module's doc for one employee, event and channel."""
    if admin is False:
        return False
    if own is not None:
        return own
    return admin if admin is not None else default


def admin_choice(rules: dict[tuple[str, str], bool], user: User, channel: str) -> bool | None:
    """What the administrator's rules (``{(target, channel): enabled}``) say for ``user``."""
    own = rules.get((user_target(user), channel))
    if own is not None:
        return own
    by_roles = [rules[(role_target(r.key), channel)] for r in user.roles
                if (role_target(r.key), channel) in rules]
    return any(by_roles) if by_roles else None


def _rules(event: str) -> dict[tuple[str, str], bool]:
    return {(r.target, r.channel): r.enabled for r in db.session.scalars(
        select(Rule).where(Rule.event == event))}


def _own(event: str, user_ids: list[int]) -> dict[tuple[int, str], bool]:
    if not user_ids:
        return {}
    return {(p.user_id, p.channel): p.enabled for p in db.session.scalars(
        select(Preference).where(Preference.event == event, Preference.user_id.in_(user_ids)))}


def _reachable(user: User | None) -> bool:
    return user is not None and user.is_active and user.is_agent


def recipients(event: str, candidates: Iterable[User | None] | None = None,
               default: bool = False) -> list[tuple[User, str]]:
    """``[(employee, channel)]`` to tell of ``event``, by user id and channel order.
    ``candidates``: whom the event concerns (a ticket's manager); None: anyone
    a rule or their own choice signs up (a new ticket, a queue they follow)."""
    rules = _rules(event)
    if candidates is None:
        if default or any(rules.values()):
            pool = db.session.scalars(select(User).where(
                User.kind == "agent", User.is_active.is_(True)).order_by(User.id)).all()
        else:  # only those who signed up themselves
            pool = db.session.scalars(
                select(User).join(Preference, Preference.user_id == User.id)
                .where(Preference.event == event, Preference.enabled.is_(True),
                       User.kind == "agent", User.is_active.is_(True))
                .distinct().order_by(User.id)).all()
    else:
        pool = sorted({u.id: u for u in candidates if u is not None}.values(),
                      key=lambda u: u.id)
    pool = [u for u in pool if _reachable(u)]
    own = _own(event, [u.id for u in pool])
    found = []
    for user in pool:
        for channel, _label in channels():
            if address(user, channel) and decide(admin_choice(rules, user, channel),
                                                 own.get((user.id, channel)), default):
                found.append((user, channel))
    return found


def wants(user: User | None, event: str, channel: str = EMAIL, default: bool = False) -> bool:
    return any(c == channel for _u, c in recipients(event, [user], default)) if user else False


def effective(user: User, events: Iterable[tuple[str, bool]], with_own: bool = True) -> tuple[
        dict[tuple[str, str], bool], set[tuple[str, str]]]:
    """For the employee's settings page: ``({(event, channel): on?}, {(event,
    channel) a rule turned off}``) for ``events`` (``[(key, default)]``).
    ``with_own=False``: what is in force without the employee's own choices."""
    events = list(events)
    keys = [e for e, _d in events]
    rules = {(r.event, r.target, r.channel): r.enabled for r in db.session.scalars(
        select(Rule).where(Rule.event.in_(keys), Rule.target.in_(targets_of(user)))
    )} if keys else {}
    own = {(p.event, p.channel): p.enabled for p in db.session.scalars(
        select(Preference).where(Preference.user_id == user.id))} if with_own else {}
    current: dict[tuple[str, str], bool] = {}
    locked: set[tuple[str, str]] = set()
    for event, default in events:
        per_event = {(t, c): v for (e, t, c), v in rules.items() if e == event}
        for channel, _label in channels():
            admin = admin_choice(per_event, user, channel)
            if admin is False:
                locked.add((event, channel))
            current[(event, channel)] = decide(admin, own.get((event, channel)), default)
    return current, locked


# -- the administrator's rules -----------------------------------------------------


def rules_for(target: str) -> dict[tuple[str, str], bool]:
    """``{(event, channel): enabled}`` set for ``target``; absent means "no rule"."""
    return {(r.event, r.channel): r.enabled for r in db.session.scalars(
        select(Rule).where(Rule.target == target))}


def targets_with_rules() -> dict[str, int]:
    """``{target: number of rules}``, for the admin page's overview."""
    counts: dict[str, int] = {}
    for target in db.session.scalars(select(Rule.target)):
        counts[target] = counts.get(target, 0) + 1
    return counts


def save_rules(target: str, choices: dict[tuple[str, str], bool | None], known_events: set[str],
               actor: User | None = None) -> int:
    """Set ``target``'s rules: ``{(event, channel): True | False | None}`` (None
    removes the rule). Needs ``admin.users``. Returns how many rules changed."""
    permissions.require(actor, "admin.users")
    subject = check_target(target)
    known_channels = {c for c, _l in channels()}
    errors = {f"{e}/{c}": "Unknown event or channel." for e, c in choices
              if e not in known_events or c not in known_channels}
    if errors:
        raise ValidationFailed(errors)
    changed = 0
    with unit_of_work():
        rows = {(r.event, r.channel): r for r in db.session.scalars(
            select(Rule).where(Rule.target == target))}
        for (event, channel), enabled in choices.items():
            row = rows.get((event, channel))
            if enabled is None:
                if row is not None:
                    db.session.delete(row)
                    changed += 1
            elif row is None:
                db.session.add(Rule(target=target, event=event, channel=channel,
                                    enabled=bool(enabled),
                                    user_id=subject.id if isinstance(subject, User) else None))
                changed += 1
            elif row.enabled != bool(enabled):
                row.enabled = bool(enabled)
                changed += 1
    return changed
