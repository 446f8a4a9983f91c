"""(b) The first page of a filtered, sorted ticket list on a large table.

The table is seeded with plain Core bulk inserts (not through the services: the
point is the read path). Each timed run starts like a web request: a fresh
session, the viewer loaded untimed, then the page. Compared:

* ``service page``: ``kernel.services.queries.list_tickets(viewer, filter,
  sort="-created_at", with_total=False)`` — 20 ``Ticket`` objects.
* ``service page + count``: the same call with ``with_total=True`` (what the
  agent's list shows: the page and "N tickets").
* ``hand-written Core``: one ``select`` of the ticket columns with the same joins,
  filter, order and limit, rows only — the floor.
* ``hand-written ORM``: ``select(Ticket)`` with the same filter, order and limit —
  the same objects as the service, without the kernel; ``no eager loads`` is the
  same with ``lazyload("*")``, i.e. without the models' ``lazy="joined"`` /
  ``"selectin"`` defaults (ticket -> type -> pipeline -> statuses, transitions).
* the count query alone: the exact SQL the service issued for its total, against
  a hand-written ``count(*)`` with the same joins, and one that filters
  ``status_id IN (SELECT id FROM statuses WHERE ...)`` instead of joining.

Then SQLite's ``EXPLAIN QUERY PLAN`` of the service's SQL, and a what-if: the
same figures with candidate indexes added one after the other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from benchmarks.common import (
    Sizes,
    app_context,
    make_agent,
    make_app,
    medians_ms,
    ratio,
    seconds,
    statements,
    table,
    title,
)

PER_PAGE = 20
CHUNK = 10_000
STATUS_MIX = (("new", 10), ("in_progress", 10), ("waiting", 5), ("resolved", 60),
              ("rejected", 15))
QUEUE_MIX = (("general", 35), ("technical", 35), ("billing", 25), (None, 5))
CANDIDATE_INDEXES = (  # added one after the other in the what-if
    ("ix_bench_tickets_queue_created", "queue, created_at"),
    ("ix_bench_tickets_queue_status", "queue, status_id"),
)


@dataclass
class Scenario:
    label: str
    state: str
    queue: str | None


SCENARIOS = [
    Scenario("open, queue=technical, -created_at", "open", "technical"),
    Scenario("open, any queue, -created_at", "open", None),
]


def seed(count: int) -> dict[str, Any]:
    """``count`` tickets over two years (ids follow ``created_at``), 25% open."""
    from sqlalchemy import insert, select

    from kernel.db import db, utcnow
    from kernel.models import Customer, Ticket, TicketType

    rng = random.Random(20240601)
    agent = make_agent()
    now = utcnow()
    db.session.execute(insert(Customer), [
        {"name": f"Customer {i}", "note": "", "created_at": now} for i in range(500)
    ])
    db.session.commit()
    customers = list(db.session.scalars(select(Customer.id)))
    ttype = db.session.scalar(select(TicketType).where(TicketType.key == "request"))
    statuses = {s.key: s for s in ttype.pipeline.statuses}
    type_id, agent_id = ttype.id, agent.id
    status_keys = [k for k, _w in STATUS_MIX]
    status_weights = [w for _k, w in STATUS_MIX]
    queues = [q for q, _w in QUEUE_MIX]
    queue_weights = [w for _q, w in QUEUE_MIX]
    status_ids = {k: (s.id, s.group != "open") for k, s in statuses.items()}
    db.session.commit()
    start = now - timedelta(days=730)
    step = timedelta(days=730) / count
    table_ = Ticket.__table__

    def rows(first: int, last: int):
        for i in range(first, last):
            created = start + step * i
            status_id, closed = status_ids[rng.choices(status_keys, status_weights)[0]]
            yield {
                "id": i + 1, "number": f"REQ-{created.year}-{i + 1:06d}", "type_id": type_id,
                "status_id": status_id, "subject": f"Ticket {i}", "text": "",
                "customer_id": rng.choice(customers) if rng.random() < 0.9 else None,
                "assignee_id": agent_id if rng.random() < 0.7 else None,
                "author_id": agent_id, "priority": rng.choice(("low", "normal", "high")),
                "queue": rng.choices(queues, queue_weights)[0],
                "urgent": rng.random() < 0.05,
                "deadline": created + timedelta(days=3) if rng.random() < 0.3 else None,
                "location": None, "created_at": created, "updated_at": created,
                "closed_at": created + timedelta(days=1) if closed else None,
                "status_changed_at": created,
                "values": {"contract_number": f"C-{i:06d}"}, "version": 1,
            }

    with db.engine.begin() as conn:
        for first in range(0, count, CHUNK):
            conn.execute(insert(table_), list(rows(first, min(count, first + CHUNK))))
    return {"agent_id": agent_id, "statuses": statuses}


def _filter(scenario: Scenario):
    from kernel.services.queries import TicketFilter

    return TicketFilter(state=scenario.state, queue=scenario.queue)


def _core_where(scenario: Scenario, tickets, statuses) -> list[Any]:
    where = [statuses.c.group == "open"] if scenario.state == "open" else []
    if scenario.queue:
        where.append(tickets.c.queue == scenario.queue)
    return where


class Queries:
    """The callables timed for one scenario, sharing one viewer per run."""

    def __init__(self, scenario: Scenario, agent_id: int) -> None:
        from sqlalchemy import func, select

        from kernel.models import Status, Ticket

        self.scenario = scenario
        self.agent_id = agent_id
        self.viewer = None
        tickets, statuses = Ticket.__table__, Status.__table__
        joined = tickets.join(statuses, tickets.c.status_id == statuses.c.id)
        where = _core_where(scenario, tickets, statuses)
        self.core_page = (select(tickets).select_from(joined).where(*where)
                          .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
                          .limit(PER_PAGE))
        self.core_count = select(func.count()).select_from(joined).where(*where)
        in_where = []
        if scenario.state == "open":
            open_ids = select(statuses.c.id).where(statuses.c.group == "open")
            in_where.append(tickets.c.status_id.in_(open_ids))
        if scenario.queue:
            in_where.append(tickets.c.queue == scenario.queue)
        self.core_count_in = select(func.count()).select_from(tickets).where(*in_where)
        orm_where = [Status.group == "open"] if scenario.state == "open" else []
        if scenario.queue:
            orm_where.append(Ticket.queue == scenario.queue)
        self.orm_page = (select(Ticket).join(Status, Ticket.status_id == Status.id)
                         .where(*orm_where)
                         .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(PER_PAGE))
        self.service_sql = self._capture()

    def fresh(self) -> None:
        """Like a new request: no open transaction, nothing in the identity map."""
        from kernel.db import db
        from kernel.models import User

        db.session.rollback()
        db.session.expunge_all()
        self.viewer = db.session.get(User, self.agent_id)

    def service_page(self, with_total: bool = False):
        from kernel.services.queries import list_tickets

        return list_tickets(self.viewer, _filter(self.scenario), sort="-created_at",
                            per_page=PER_PAGE, with_total=with_total)

    def service_page_and_count(self):
        return self.service_page(with_total=True)

    def core(self):
        from kernel.db import db

        return db.session.execute(self.core_page).all()

    def orm(self):
        from kernel.db import db

        return db.session.scalars(self.orm_page).unique().all()

    def orm_no_eager(self):
        from sqlalchemy.orm import lazyload

        from kernel.db import db

        return db.session.scalars(self.orm_page.options(lazyload("*"))).all()

    def service_count(self):
        from kernel.db import db

        sql, params = self.service_sql["count"]
        return db.session.connection().exec_driver_sql(sql, params).scalar()

    def hand_count(self):
        from kernel.db import db

        return db.session.scalar(self.core_count)

    def hand_count_in(self):
        from kernel.db import db

        return db.session.scalar(self.core_count_in)

    def _capture(self) -> dict[str, tuple[str, Any]]:
        """The SELECTs ``list_tickets`` issues: its page query and its count query."""
        from kernel.db import db

        self.fresh()
        with statements(db.engine) as seen:
            self.service_page(with_total=True)
        selects = [(sql, params) for sql, params in seen
                   if sql.lstrip().upper().startswith("SELECT") and "FROM tickets" in sql]
        page = next(s for s in selects if "LIMIT" in s[0].upper())
        count = next(s for s in selects if "count(" in s[0].lower())
        db.session.rollback()
        return {"page": page, "count": count}

    def check(self) -> str:
        """The service and the hand-written queries agree (ids and total)."""
        self.fresh()
        page = self.service_page(with_total=True)
        ids = [t.id for t in page.items]
        core_ids = [r.id for r in self.core()]
        orm_ids = [t.id for t in self.orm()]
        lean_ids = [t.id for t in self.orm_no_eager()]
        total = self.hand_count()
        ok = (ids == core_ids == orm_ids == lean_ids and len(ids) == PER_PAGE
              and page.total == total == self.hand_count_in())
        return f"{total:,} matching tickets; same page and total: {'yes' if ok else 'NO'}"


def plan(sql: str, params: Any) -> list[str]:
    from kernel.db import db

    rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
    db.session.rollback()
    return [row[-1] for row in rows]


def _time(q: Queries, repeats: int) -> dict[str, float]:
    runs = {
        "service page": q.service_page,
        "service page + count": q.service_page_and_count,
        "hand-written ORM page": q.orm,
        "hand-written ORM page, no eager loads": q.orm_no_eager,
        "hand-written Core page": q.core,
        "count: service SQL": q.service_count,
        "count: hand-written": q.hand_count,
        "count: hand-written, status_id IN": q.hand_count_in,
    }
    return medians_ms(runs, repeats, before=q.fresh)


def _print_times(times: dict[str, float]) -> None:
    page_base = times["hand-written Core page"]
    count_base = times["count: hand-written"]
    rows = []
    for name, ms in times.items():
        base = count_base if name.startswith("count") else page_base
        rows.append((name, f"{ms:.3f}", ratio(ms, base)))
    table(rows, ("query", "median ms", "vs hand-written"))


def run(root: str, sizes: Sizes) -> dict[str, Any]:
    from kernel.db import db

    n = sizes.list_rows
    title(f"(b) First page ({PER_PAGE} rows) of a ticket list at {n:,} tickets (SQLite)")
    app = make_app(root, "listing")
    results: dict[str, Any] = {}
    with app_context(app):
        took = seconds(lambda: seed(n))
        info = db.session.execute(db.text("SELECT count(*) FROM tickets")).scalar()
        db.session.rollback()
        agent_id = db.session.execute(db.text("SELECT min(id) FROM users")).scalar()
        db.session.rollback()
        print(f"seeded {info:,} tickets with Core bulk inserts in {took:.1f}s "
              f"({info / took:,.0f} rows/s); median of {sizes.list_repeats} runs each, "
              f"fresh session per run")
        for scenario in SCENARIOS:
            q = Queries(scenario, agent_id)
            print()
            print(f"-- {scenario.label}: {q.check()}")
            times = _time(q, sizes.list_repeats)
            _print_times(times)
            plans = {
                "service page": plan(*q.service_sql["page"]),
                "service count": plan(*q.service_sql["count"]),
            }
            for name, lines in plans.items():
                print(f"   plan, {name}: " + " | ".join(lines))
            results[scenario.label] = {"times": times, "plans": plans}

        scenario = SCENARIOS[0]
        print()
        print(f"-- what if, scenario '{scenario.label}': candidate indexes added one after "
              f"the other")
        steps = [("now", results[scenario.label]["times"])]
        plans: list[str] = []
        for name, columns in CANDIDATE_INDEXES:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE INDEX {name} ON tickets ({columns})")
            q = Queries(scenario, agent_id)
            steps.append((f"+ ({columns})", _time(q, sizes.list_repeats)))
            plans = [f"   plan with both, service {kind}: " + " | ".join(plan(sql, params))
                     for kind, (sql, params) in q.service_sql.items()]
        header = ("query", *(f"ms {label}" for label, _t in steps), "speed-up")
        rows = []
        for query in steps[0][1]:
            cells = [f"{times[query]:.3f}" for _label, times in steps]
            rows.append((query, *cells, ratio(steps[0][1][query], steps[-1][1][query])))
        table(rows, header)
        print("\n".join(plans))
        with db.engine.begin() as conn:
            for name, _columns in CANDIDATE_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX {name}")
        results["what-if"] = steps
    return results
