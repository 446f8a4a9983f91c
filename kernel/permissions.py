"""Who may do what (K10, A3, X4).

``actor=None`` is the system itself (CLI, migrations, demo data): allowed
everything. A customer has no roles: they may create tickets and reply, and only
on their own customer's tickets; anything else of another customer is "not
found", never "forbidden", so its existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import false, true

from kernel import runtime
from kernel.errors import NotFound, PermissionDenied
from kernel.models import Ticket, User

CUSTOMER_PERMISSIONS = frozenset({"tickets.create", "tickets.reply", "tickets.edit_own"})


def has(user: User | None, permission: str) -> bool:
    if user is None:
        return True
    if not user.is_active:
        return False
    if user.is_customer:
        return permission in CUSTOMER_PERMISSIONS
    return any(role.grants(permission) for role in user.roles)


def require(user: User | None, permission: str) -> None:
    if not has(user, permission):
        label = runtime.host().registry.permissions.get(permission)
        name = label.decl.label if label else permission
        raise PermissionDenied(f"You are not allowed to do this ({name}).")


def require_any(user: User | None, choices: tuple[str, ...]) -> None:
    """Refuse unless ``user`` has at least one of ``choices`` (named in the refusal)."""
    if any(has(user, permission) for permission in choices):
        return
    registry = runtime.host().registry.permissions
    names = [registry[p].decl.label if p in registry else p for p in choices]
    raise PermissionDenied(f"You are not allowed to do this ({' or '.join(names)}).")


def can_view_ticket(user: User | None, ticket: Ticket) -> bool:
    if user is None:
        return True
    if not user.is_active:
        return False
    if user.is_customer:
        return user.customer_id is not None and ticket.customer_id == user.customer_id
    if not has(user, "tickets.view"):
        return False
    vetoes = runtime.host().collect("hookdesk_can_view_ticket", ticket=ticket, user=user)
    return not any(answer is False for _plugin, answer in vetoes)


def require_view(user: User | None, ticket: Ticket | None) -> Ticket:
    if ticket is None or not can_view_ticket(user, ticket):
        raise NotFound("Ticket not found.")
    return ticket


def visible_tickets_clause(user: User | None):
    """A WHERE clause for ticket lists; plugin vetoes apply when a card is opened."""
    if user is None:
        return true()
    if not user.is_active:
        return false()
    if user.is_customer:
        if user.customer_id is None:
            return false()
        return Ticket.customer_id == user.customer_id
    return true() if has(user, "tickets.view") else false()
