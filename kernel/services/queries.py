"""Ticket lists: filters, sorting and pages, scoped to what the viewer may see
(P4, A1). Read-only: no unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, false, func, or_, select

from kernel import permissions, runtime, visibility
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models import Status, Ticket, TicketType, User
from kernel.services import search, storable

MAX_PAGE = 100_000  # deeper pages are refused (API) or clamped (pages): OFFSET stays small

SORTABLE = {
    "number": Ticket.id,  # numbers of one template sort like their ids
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "deadline": Ticket.deadline,
    "subject": Ticket.subject,
    "priority": Ticket.priority,
    "status": Ticket.status_id,
    "queue": Ticket.queue,
    "urgent": Ticket.urgent,
    "assignee": Ticket.assignee_id,
    "customer": Ticket.customer_id,
}


@dataclass
class TicketFilter:
    state: str = "all"  # all | open | closed
    types: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    customer_id: int | None = None
    queue: str | None = None
    urgent: bool | None = None
    overdue: bool | None = None
    search: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    values: dict[str, Any] = field(default_factory=dict)  # field key -> exact value
    extra: dict[str, str] = field(default_factory=dict)  # plugin filter key -> value


@dataclass
class Page:
    items: list[Ticket]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_OPEN = select(Status.id).where(Status.group == "open").scalar_subquery()


def _clauses(flt: TicketFilter, viewer: User | None) -> list[Any]:
    clauses: list[Any] = [permissions.visible_tickets_clause(viewer)]
    texts = [*flt.types, *flt.statuses, flt.queue or "", flt.search or "",
             *(str(k) for k in flt.values), *(str(v) for v in flt.values.values()),
             *flt.extra, *flt.extra.values()]
    if not all(storable(text, 10_000) for text in texts):
        # A NUL byte matches nothing stored (PostgreSQL would refuse the query).
        clauses.append(false())
        return clauses
    # Subqueries instead of joins: the planner can then serve the filter and the
    # sort from the tickets' own indexes (see docs/performance.md).
    if flt.state == "open":
        clauses.append(Ticket.status_id.in_(_OPEN))
    elif flt.state == "closed":
        clauses.append(Ticket.status_id.not_in(_OPEN))
    elif flt.state != "all":
        raise ValidationFailed({"state": "One of all, open, closed."})
    if flt.types:
        clauses.append(
            Ticket.type_id.in_(select(TicketType.id).where(TicketType.key.in_(flt.types))))
    if flt.statuses:
        clauses.append(Ticket.status_id.in_(select(Status.id).where(Status.key.in_(flt.statuses))))
    if flt.assignee_id is not None:
        clauses.append(Ticket.assignee_id == flt.assignee_id)
    if flt.customer_id is not None:
        clauses.append(Ticket.customer_id == flt.customer_id)
    if flt.queue:
        clauses.append(Ticket.queue == flt.queue)
    if flt.urgent is not None:
        clauses.append(Ticket.urgent.is_(flt.urgent))
    if flt.overdue:
        clauses.append(and_(Ticket.deadline.is_not(None), Ticket.deadline < utcnow(),
                            Ticket.status_id.in_(_OPEN)))
    if flt.created_from:
        clauses.append(Ticket.created_at >= _start(flt.created_from))
    if flt.created_to:
        clauses.append(Ticket.created_at < _start(flt.created_to) + timedelta(days=1))
    if flt.search:
        term = flt.search.strip()
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        # A number has digits: only then is the (scanning) substring match on
        # numbers worth it; words go to the full-text index alone.
        options = ([Ticket.number.ilike(like, escape="\\")]
                   if any(ch.isdigit() for ch in term) else [])
        texts = search.matching_ids(term, viewer)  # subjects, text fields, messages
        if texts is not None:
            options.append(Ticket.id.in_(texts))
        try:
            day = date.fromisoformat(term)
            options.append(and_(Ticket.created_at >= _start(day),
                                Ticket.created_at < _start(day) + timedelta(days=1)))
        except ValueError:
            pass
        clauses.append(or_(false(), *options))  # no option left: nothing matches
    for key, value in flt.values.items():
        clauses.append(cast(Ticket.values[key].as_string(), String) == str(value))
    clauses.extend(_plugin_clauses(flt.extra))
    return clauses


def _plugin_clauses(extra: dict[str, str]) -> list[Any]:
    """Conditions of the filters plugins declared (``hookdesk_register_ticket_filters``);
    an unknown filter or a value outside its choices is refused by name."""
    found = []
    declared = runtime.host().registry.ticket_filters
    for key, value in extra.items():
        entry = declared.get(key)
        if entry is None:
            raise ValidationFailed({f"filter.{key}": f"Unknown filter {key!r}; use one of "
                                                     f"{', '.join(sorted(declared)) or 'none'}."})
        allowed = [str(v) for v, _label in entry.decl.choices()]
        if str(value) not in allowed:
            raise ValidationFailed({f"filter.{key}": f"{value!r} is not one of "
                                                     f"{', '.join(allowed) or 'none'}."})
        found.append(entry.decl.clause(str(value)))
    return found


def _start(day: date) -> datetime:
    from datetime import UTC

    return datetime.combine(day, time.min, tzinfo=UTC)


def list_tickets(
    viewer: User | None,
    flt: TicketFilter | None = None,
    sort: str = "-created_at",
    page: int = 1,
    per_page: int = 20,
    with_total: bool = True,
) -> Page:
    """A page of tickets. ``sort``: a key of ``SORTABLE``, ``-`` for descending.
    Sorting or filtering by a field the viewer may not see is refused
    (``kernel.visibility.check_list_query``)."""
    flt = flt or TicketFilter()
    per_page = max(1, min(int(per_page), 500))
    page = max(1, min(int(page), MAX_PAGE))
    descending = sort.startswith("-")
    column = SORTABLE.get(sort.lstrip("-"))
    if column is None:
        raise ValidationFailed({"sort": f"Cannot sort by {sort!r}; use one of "
                                        f"{', '.join(sorted(SORTABLE))}."})
    visibility.check_list_query(viewer, flt, sort)
    clauses = _clauses(flt, viewer)
    base = select(Ticket).where(*clauses)
    order = [column.desc() if descending else column.asc(),
             Ticket.id.desc() if descending else Ticket.id.asc()]
    items = list(db.session.scalars(base.order_by(*order).limit(per_page)
                                    .offset((page - 1) * per_page)).unique())
    total = -1
    if with_total:
        count = select(func.count(Ticket.id)).where(*clauses)
        total = db.session.scalar(count) or 0
    return Page(items, total, page, per_page)


def counters(viewer: User | None) -> dict[str, int]:
    """Badge counters of the agent's table: overdue and urgent open tickets."""
    visible = permissions.visible_tickets_clause(viewer)
    base = select(func.count(Ticket.id)).where(visible, Ticket.status_id.in_(_OPEN))
    return {
        "overdue": db.session.scalar(
            base.where(Ticket.deadline.is_not(None), Ticket.deadline < utcnow())
        ) or 0,
        "urgent": db.session.scalar(base.where(Ticket.urgent.is_(True))) or 0,
    }
