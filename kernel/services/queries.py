"""Ticket lists: filters, sorting and pages, scoped to what the viewer may see
(P4, A1). Read-only: no unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, Integer, String, and_, case, cast, false, func, or_, select
from sqlalchemy.orm import joinedload, lazyload

from kernel import fieldset, permissions, runtime, visibility
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models import Status, Ticket, TicketType, User
from kernel.models.tickets import COLUMN_FIELDS
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
# Field values kept in the JSON column sort by this expression of their type (not
# index-backed: see docs/performance.md, "Sorting by a plugin or custom field").
_JSON_SORT_TYPES = {"number": Float, "reference": Integer, "file": Integer}
# A count stops after this many rows past the page: beyond it the total reads
# "more than N" (``Page.total_exact`` false) instead of scanning every match.
COUNT_AHEAD = 1_000
# Badge counters stop here (the badge then reads "99+").
BADGE_LIMIT = 99


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
    total_exact: bool = True  # false: more than ``total`` tickets match (bounded count)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_OPEN = select(Status.id).where(Status.group == "open").scalar_subquery()


def _unindexed(column: Any) -> Any:
    """``column + 0`` on SQLite, where it keeps the planner (which has no
    statistics unless ``ANALYZE`` ran) from choosing that column's index over
    the sort's; PostgreSQL keeps statistics and chooses well on the column itself
    (an expression would hide them and make it misjudge how many rows match)."""
    return column + 0 if db.session.get_bind().dialect.name == "sqlite" else column


def _open_clause():
    """``status_id`` in an open status, written ``status_id + 0`` on SQLite so
    that no index on ``status_id`` is used for it: the open statuses are a quarter of the table,
    and an ``IN`` over several of them cannot return rows in ``created_at`` order,
    so SQLite would read and sort every open ticket. Walking the sort's own index
    and testing each row stops after about four rows per row shown."""
    return _unindexed(Ticket.status_id).in_(_OPEN)


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
        clauses.append(_open_clause())
    elif flt.state == "closed":
        clauses.append(_unindexed(Ticket.status_id).not_in(_OPEN))
    elif flt.state != "all":
        raise ValidationFailed({"state": "One of all, open, closed."})
    if flt.types or flt.statuses:
        clauses.extend(_type_status_clauses(flt))
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
                            _open_clause()))
    if flt.created_from:
        clauses.append(Ticket.created_at >= _start(flt.created_from))
    if flt.created_to:
        clauses.append(Ticket.created_at < _start(flt.created_to) + timedelta(days=1))
    if flt.search:
        clauses.append(_search_clause(flt.search, viewer))
    for key, value in flt.values.items():
        clauses.append(cast(Ticket.values[key].as_string(), String) == str(value))
    clauses.extend(_plugin_clauses(flt.extra))
    return clauses


def _type_status_clauses(flt: TicketFilter) -> list[Any]:
    """The types and statuses named, as ids read first (one statement on the small
    type and status tables): ``status_id = ?`` walks (status_id, created_at) in
    order, which an ``IN (subquery)`` cannot, and PostgreSQL judges how many rows
    an id matches from its statistics, not a subquery's."""
    query = select(TicketType.id, Status.id).join(
        Status, Status.pipeline_id == TicketType.pipeline_id)
    if flt.types:
        query = query.where(TicketType.key.in_(flt.types))
    if flt.statuses:
        query = query.where(Status.key.in_(flt.statuses))
    pairs = db.session.execute(query).all()
    if not pairs:
        return [false()]
    type_ids = sorted({t for t, _s in pairs})
    status_ids = sorted({s for _t, s in pairs})
    found = []
    if flt.types:
        # With a status too, (status_id, created_at) serves the page: keep the
        # planner off (type_id, status_id), which returns rows unsorted.
        column = _unindexed(Ticket.type_id) if flt.statuses else Ticket.type_id
        found.append(column == type_ids[0] if len(type_ids) == 1 else column.in_(type_ids))
    if flt.statuses:
        found.append(Ticket.status_id == status_ids[0] if len(status_ids) == 1
                     else Ticket.status_id.in_(status_ids))
    return found


def _search_clause(text: str, viewer: User | None) -> Any:
    """The ``q`` of a list: a number, words (full-text: subjects, text fields and
    messages the viewer may read, ``kernel.services.search``) or a day."""
    term = text.strip()
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    # A number has digits: only then is the (scanning) substring match on
    # numbers worth it; words go to the full-text index alone.
    options = ([Ticket.number.ilike(like, escape="\\")]
               if any(ch.isdigit() for ch in term) else [])
    texts = search.matching_ids(term, viewer)
    if texts is not None:
        options.append(Ticket.id.in_(texts))
    try:
        day = date.fromisoformat(term)
        options.append(and_(Ticket.created_at >= _start(day),
                            Ticket.created_at < _start(day) + timedelta(days=1)))
    except ValueError:
        pass
    return or_(false(), *options)  # no option left: nothing matches


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


def sort_keys() -> set[str]:
    """Every key a list may sort by: ``SORTABLE`` and the fields kept in the JSON
    column (plugin and custom fields). Which of them a viewer may use is
    ``kernel.visibility.sortable``."""
    return set(SORTABLE) | {f.key for f in fieldset.all_fields() if f.key not in COLUMN_FIELDS}


def _sort_column(key: str) -> Any:
    column = SORTABLE.get(key)
    if column is not None:
        return column
    found = fieldset.get(key) if key not in COLUMN_FIELDS else None
    if found is None:
        return None
    kind = _JSON_SORT_TYPES.get(found.type)
    value = Ticket.values[key]
    return value.as_float() if kind is Float else (
        value.as_integer() if kind is Integer else value.as_string())


def _page_options() -> list[Any]:
    """What a list row shows, loaded with the row in the same statement: its type
    and status, customer and assignee (many-to-one joins on 20 rows); nothing of
    the pipelines and customers' phones unless a caller asks."""
    return [
        joinedload(Ticket.type).lazyload("*"),
        joinedload(Ticket.status).lazyload("*"),
        joinedload(Ticket.customer).lazyload("*"),
        joinedload(Ticket.assignee).lazyload("*"),
        lazyload(Ticket.author),
    ]


def list_tickets(
    viewer: User | None,
    flt: TicketFilter | None = None,
    sort: str = "-created_at",
    page: int = 1,
    per_page: int = 20,
    with_total: bool = True,
) -> Page:
    """A page of tickets. ``sort``: a key of ``sort_keys()``, ``-`` for descending.
    Sorting or filtering by a field the viewer may not see is refused
    (``kernel.visibility.check_list_query``). Two statements: the page (its ids
    chosen by an index walk, then the rows with what they show) and, with
    ``with_total``, a count that stops ``COUNT_AHEAD`` rows past the page."""
    flt = flt or TicketFilter()
    per_page = max(1, min(int(per_page), 500))
    page = max(1, min(int(page), MAX_PAGE))
    descending = sort.startswith("-")
    column = _sort_column(sort.lstrip("-"))
    if column is None:
        raise ValidationFailed({"sort": f"Cannot sort by {sort!r}; use one of "
                                        f"{', '.join(sorted(sort_keys()))}."})
    visibility.check_list_query(viewer, flt, sort)
    clauses = _clauses(flt, viewer)
    order = [column.desc() if descending else column.asc(),
             Ticket.id.desc() if descending else Ticket.id.asc()]
    offset = (page - 1) * per_page
    # Ids first: the inner select reads only an index where one serves the order;
    # the outer one fetches the rows of those ids with their joins.
    ids = (select(Ticket.id).where(*clauses).order_by(*order).limit(per_page)
           .offset(offset).scalar_subquery())
    items = list(db.session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).options(*_page_options())
        .order_by(*order)).unique())
    total, exact = -1, True
    if with_total:
        total, exact = bounded_count(clauses, offset + per_page + COUNT_AHEAD)
    return Page(items, total, page, per_page, exact)


def bounded_count(clauses: list[Any], limit: int) -> tuple[int, bool]:
    """``(n, exact)``: how many tickets match ``clauses``, reading at most
    ``limit + 1`` of them (``exact`` is false when more match)."""
    inner = select(Ticket.id).where(*clauses).limit(limit + 1).subquery()
    found = db.session.scalar(select(func.count()).select_from(inner)) or 0
    return (limit, False) if found > limit else (found, True)


def counters(viewer: User | None) -> dict[str, int]:
    """Badge counters of the agent's table: overdue and urgent open tickets, each
    counted up to ``BADGE_LIMIT + 1`` (one statement, a bounded index read)."""
    visible = permissions.visible_tickets_clause(viewer)

    def capped(*where: Any) -> Any:
        inner = (select(Ticket.id).where(visible, *where, _open_clause())
                 .limit(BADGE_LIMIT + 1).subquery())
        return select(func.count()).select_from(inner).scalar_subquery()

    overdue = capped(Ticket.deadline.is_not(None), Ticket.deadline < utcnow())
    urgent = capped(Ticket.urgent.is_(True))
    row = db.session.execute(select(overdue, urgent)).one()
    return {"overdue": row[0] or 0, "urgent": row[1] or 0}


def state_counts(viewer: User | None, flt: TicketFilter | None = None) -> dict[str, int]:
    """``{"all": n, "open": n, "closed": n}`` of the tickets ``flt`` matches
    whatever its ``state`` (the portal's tabs), in one statement. Meant for a
    customer's own tickets: it reads each of them once (an index on
    ``(customer_id, created_at)``); it is not bounded."""
    flt = flt or TicketFilter()
    clauses = _clauses(TicketFilter(**{**flt.__dict__, "state": "all"}), viewer)
    is_open = case((_open_clause(), 1), else_=0)
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(is_open), 0)).where(*clauses)).one()
    return {"all": row[0], "open": int(row[1]), "closed": row[0] - int(row[1])}
