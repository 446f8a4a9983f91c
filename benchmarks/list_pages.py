"""(b) List pages at scale: the agents' table (HTML), the API list and the
customer's "my tickets", first page, flat from 10^4 to ``--scale`` tickets.

Data (issue 14): tickets over time with ids in ``created_at`` order, 25 % open,
5 agents, 500 customers plus one customer (with a portal account) who has 50
tickets, one message per ticket; seeded with Core bulk inserts. The same app is
measured at 10,000 tickets, then grown to ``scale`` and measured again:

* ``page ms``: the whole request through the test client (signed in, median);
* ``t(N)/t(10^4)``: that time at ``scale`` over the time at 10,000 (goal <= 1.5);
* ``sql ms`` / ``hand ms``: the statements the request ran on ``tickets``,
  replayed alone, against the hand-written indexed query for the same rows and
  counts (ids first, ``LIMIT 20``; counts bounded as the page bounds them);
  ``ratio`` is their quotient (goal <= 3).

Works on SQLite and on PostgreSQL (``HOOKDESK_TEST_DATABASE_URL``); on PostgreSQL
the tables are ``ANALYZE``d after seeding, as autovacuum would.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from benchmarks.common import app_context, make_app, medians_ms, ratio, statements, table, title

BASE = 10_000
CHUNK = 20_000
OWN = 50  # the portal customer's tickets, all among the first BASE


@dataclass
class Scenario:
    page: str  # agents | api | portal
    label: str
    url: str


def scenarios() -> list[Scenario]:
    found = [
        Scenario("agents", "open, newest first (default)", "/agent/"),
        Scenario("agents", "open, queue=technical", "/agent/?queue=technical"),
        Scenario("agents", "open, assignee=agent 1", "/agent/?assignee={agent}"),
        Scenario("agents", "status=new", "/agent/?type=request&status=new"),
        Scenario("agents", "all states", "/agent/?state=all"),
    ]
    for key in ("number", "subject", "status", "deadline", "priority", "queue", "customer",
                "assignee", "-created_at", "created_at"):
        found.append(Scenario("agents", f"open, sort={key}", f"/agent/?sort={key}"))
    found += [
        Scenario("api", "all, newest first (default)", "/api/v1/tickets"),
        Scenario("api", "open", "/api/v1/tickets?state=open"),
        Scenario("api", "open, queue=technical", "/api/v1/tickets?state=open&queue=technical"),
        Scenario("api", "assignee_id", "/api/v1/tickets?assignee_id={agent}"),
        Scenario("api", "sort=-updated_at", "/api/v1/tickets?sort=-updated_at"),
        Scenario("api", "sort=subject", "/api/v1/tickets?sort=subject"),
        Scenario("portal", "my tickets (default)", "/portal/"),
        Scenario("portal", "my tickets, open", "/portal/?state=open"),
        Scenario("portal", "my tickets, sort=-number", "/portal/?sort=-number"),
    ]
    return found


class World:
    """The seeded app: who signs in, and the seeding cursor."""

    def __init__(self) -> None:
        self.rows = 0
        self.rng = random.Random(20240601)

    def setup(self) -> None:
        from sqlalchemy import insert, select

        from kernel.db import db, utcnow
        from kernel.models import Customer, TicketType
        from kernel.services import customers, tokens, users

        self.agents = [users.create({"email": f"agent{i}@bench.example",
                                     "password": "bench-pass-1", "roles": ["agent"],
                                     "name": f"Agent {i}"}) for i in range(5)]
        now = utcnow()
        db.session.execute(insert(Customer), [
            {"name": f"Customer {i}", "note": "", "created_at": now} for i in range(500)])
        db.session.commit()
        self.customers = list(db.session.scalars(select(Customer.id)))
        own = customers.create({"name": "Own Customer", "phones": ["+7 900 000-00-01"],
                                "emails": ["own@bench.example"]}, actor=None)
        self.own_customer = own.id
        self.portal_user = users.create({"email": "own@bench.example", "password": "bench-pass-1",
                                         "kind": "customer", "name": "Own",
                                         "customer_id": own.id})
        _row, self.token = tokens.create(self.agents[0], "bench")
        ttype = db.session.scalar(select(TicketType).where(TicketType.key == "request"))
        self.type_id = ttype.id
        self.open_ids = [s.id for s in ttype.pipeline.statuses if s.group == "open"]
        self.closed_ids = [s.id for s in ttype.pipeline.statuses if s.group != "open"]
        self.agent_ids = [a.id for a in self.agents]
        self.start = now - timedelta(minutes=5_000_000)
        db.session.commit()

    def grow(self, upto: int) -> float:
        from sqlalchemy import insert

        from kernel.db import db
        from kernel.models import Message, Ticket

        started = time.perf_counter()
        rng = self.rng
        with db.engine.begin() as conn:
            for first in range(self.rows, upto, CHUNK):
                last = min(upto, first + CHUNK)
                tickets, messages = [], []
                for i in range(first, last):
                    created = self.start + timedelta(minutes=i)
                    is_open = rng.random() < 0.25
                    own = i < OWN * 200 and i % 200 == 0
                    tickets.append({
                        "id": i + 1, "number": f"REQ-{i + 1:07d}", "type_id": self.type_id,
                        "status_id": rng.choice(self.open_ids if is_open else self.closed_ids),
                        "subject": f"Ticket {rng.randrange(10**6):06d}", "text": "",
                        "customer_id": self.own_customer if own else rng.choice(self.customers),
                        "assignee_id": rng.choice(self.agent_ids) if rng.random() < 0.8 else None,
                        "author_id": self.agent_ids[0],
                        "priority": rng.choice(("low", "normal", "high")),
                        "queue": rng.choice(("general", "technical", "billing")),
                        "urgent": rng.random() < 0.05,
                        "deadline": created + timedelta(days=3) if rng.random() < 0.3 else None,
                        "location": None, "created_at": created, "updated_at": created,
                        "closed_at": None if is_open else created + timedelta(days=1),
                        "status_changed_at": created, "values": {}, "version": 1,
                    })
                    messages.append({"ticket_id": i + 1, "author_id": self.agent_ids[0],
                                     "author_kind": "agent", "body": "Hello", "internal": False,
                                     "created_at": created})
                conn.execute(insert(Ticket.__table__), tickets)
                conn.execute(insert(Message.__table__), messages)
        self.rows = upto
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE tickets")
                conn.exec_driver_sql("ANALYZE messages")
        return time.perf_counter() - started


def _hand_sql(scenario: Scenario, world: World) -> list[Any]:
    """The hand-written indexed queries for the same rows and counts: ids first
    (the index walk), the 20 rows by id, and the same bounded counts."""
    from sqlalchemy import func, select

    from kernel.models import Ticket
    from kernel.services.queries import BADGE_LIMIT, COUNT_AHEAD, SORTABLE

    t = Ticket.__table__
    url = scenario.url
    where: list[Any] = []
    if scenario.page == "portal":
        where.append(t.c.customer_id == world.own_customer)
    if ("state=open" in url or (scenario.page == "agents" and "state=all" not in url
                                and "status=" not in url)):
        where.append((t.c.status_id + 0).in_(world.open_ids))
    if "queue=technical" in url:
        where.append(t.c.queue == "technical")
    if "assignee" in url:
        where.append(t.c.assignee_id == world.agent_ids[0])
    if "status=new" in url:
        where.append(t.c.status_id == world.open_ids[0])
    sort = url.split("sort=")[1].split("&")[0] if "sort=" in url else "-created_at"
    column = t.c[SORTABLE[sort.lstrip("-")].key]
    desc = sort.startswith("-")
    order = [column.desc() if desc else column.asc(), t.c.id.desc() if desc else t.c.id.asc()]
    ids = select(t.c.id).where(*where).order_by(*order).limit(20).scalar_subquery()
    found = [select(t).where(t.c.id.in_(ids)).order_by(*order)]
    bounded = select(t.c.id).where(*where).limit(20 + COUNT_AHEAD + 1).subquery()
    found.append(select(func.count()).select_from(bounded))
    if scenario.page == "agents":
        from kernel.db import utcnow

        def capped(*extra):
            inner = (select(t.c.id).where((t.c.status_id + 0).in_(world.open_ids), *extra)
                     .limit(BADGE_LIMIT + 1).subquery())
            return select(func.count()).select_from(inner).scalar_subquery()

        found.append(select(capped(t.c.deadline.is_not(None), t.c.deadline < utcnow()),
                            capped(t.c.urgent.is_(True))))
    if scenario.page == "portal":
        found.append(select(func.count(), func.sum((t.c.status_id + 0).in_(world.open_ids)
                                                   .cast(t.c.id.type)))
                     .where(t.c.customer_id == world.own_customer))
    return found


def measure(app, world: World, repeats: int) -> dict[str, dict[str, float]]:
    from kernel.db import db
    from web.testclient import login

    agents_client, portal_client, api_client = (app.test_client() for _ in range(3))
    login(agents_client, world.agents[0])
    login(portal_client, world.portal_user)
    headers = {"Authorization": f"Bearer {world.token}"}
    clients = {"agents": (agents_client, {}), "portal": (portal_client, {}),
               "api": (api_client, headers)}
    results = {}
    for scenario in scenarios():
        client, extra = clients[scenario.page]
        url = scenario.url.format(agent=world.agent_ids[0])

        def request(client=client, url=url, extra=extra):
            response = client.get(url, headers=extra)
            assert response.status_code == 200, (url, response.status_code)

        request()
        with statements(db.engine) as seen:
            request()
        sql = [(s, p) for s, p in seen if "FROM tickets" in s and s.lstrip().startswith("SELECT")]
        hand = _hand_sql(scenario, world)

        def replay(sql=sql):
            conn = db.session.connection()
            for statement, params in sql:
                conn.exec_driver_sql(statement, params).all()

        def handwritten(hand=hand):
            for query in hand:
                db.session.execute(query).all()

        times = medians_ms({"page": request, "sql": replay, "hand": handwritten}, repeats,
                           before=db.session.rollback)
        db.session.rollback()
        times["statements"] = len(sql)
        results[f"{scenario.page}: {scenario.label}"] = times
    return results


def plans(app, world: World) -> list[str]:
    """Query plans of the default views' page SQL (SQLite or PostgreSQL)."""
    from kernel.db import db
    from web.testclient import login

    lines = []
    app_client = app.test_client()

    login(app_client, world.agents[0])
    for url in ("/agent/", "/agent/?sort=subject", "/agent/?queue=technical"):
        with statements(db.engine) as seen:
            app_client.get(url)
        for sql, params in seen:
            if "FROM tickets" not in sql or not sql.lstrip().startswith("SELECT"):
                continue
            explain = ("EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite"
                       else "EXPLAIN ")
            rows = db.session.connection().exec_driver_sql(explain + sql, params).all()
            db.session.rollback()
            lines.append(f"   {url}: " + " | ".join(str(r[-1]).strip() for r in rows))
    return lines


def run(root: str, scale: int, repeats: int) -> dict[str, Any]:
    from kernel.db import db

    dialect = "PostgreSQL" if _pg() else "SQLite"
    title(f"(b) List pages, first page, {BASE:,} -> {scale:,} tickets ({dialect})")
    app = make_app(root, "list-pages")
    world = World()
    with app_context(app):
        world.setup()
        took = world.grow(BASE)
        print(f"seeded {BASE:,} tickets (+1 message each) in {took:.1f}s")
        repeats = min(repeats, 9)  # whole requests: fewer runs than bare queries
        small = measure(app, world, repeats)
        took = world.grow(scale)
        print(f"grown to {scale:,} tickets in {took:.1f}s "
              f"({(scale - BASE) / max(took, 1e-9):,.0f} tickets/s); median of {repeats} runs")
        large = measure(app, world, repeats)
        rows = []
        for name, times in large.items():
            base = small[name]
            rows.append((name, f"{base['page']:.2f}", f"{times['page']:.2f}",
                         ratio(times["page"], base["page"]), str(times["statements"]),
                         f"{times['sql']:.3f}", f"{times['hand']:.3f}",
                         ratio(times["sql"], times["hand"])))
        table(rows, ("page", f"page ms {BASE:,}", f"page ms {scale:,}", "t(N)/t(10^4)",
                     "tickets SQL", "sql ms", "hand ms", "sql/hand"))
        print("\n".join(plans(app, world)))
        db.session.rollback()
    return {"small": small, "large": large}


def _pg() -> bool:
    import os

    from kernel.testing import TEST_DB_ENV

    return bool(os.environ.get(TEST_DB_ENV))
