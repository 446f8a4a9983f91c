"""(a) Creating tickets: the service layer against plain SQLAlchemy Core.

Three runs write the same rows — a ``tickets`` row with the same column values
and JSON ``values``, its ``created`` ``ticket_events`` row and the numbering
counter — each into a fresh SQLite database of its own:

* ``service``: ``kernel.services.tickets.create`` once per ticket, an agent actor,
  subject/text/queue/priority/customer plus two plugin fields of the helpdesk
  plugin (``contract_number``, a text; ``campaign``, a managed choice list).
  One transaction per ticket, hooks, validation, history, signals.
* ``core bulk``: the rows built in Python and written with ``executemany`` in one
  transaction — the cheapest way to get the same rows into the database.
* ``core per ticket``: the same four statements the kernel must issue (counter
  upsert, counter ``UPDATE ... RETURNING``, ticket insert, event insert) with one
  transaction per ticket — what a hand-written create costs with the same
  durability; the gap to ``service`` is the kernel's own overhead.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import tracemalloc
from collections.abc import Callable
from typing import Any

from benchmarks.common import (
    Sizes,
    app_context,
    make_agent,
    make_app,
    ratio,
    seconds,
    table,
    title,
)

TYPE_KEY = "request"
QUEUES = ("general", "technical", "billing")
PRIORITIES = ("low", "normal", "high", "critical")
CAMPAIGNS = ("website", "search_ads", "referral", "outdoor")
CUSTOMERS = 50
WARMUP = 20


class Fixture:
    """What every run needs: the agent, some customers, the type and its first status."""

    def __init__(self) -> None:
        from sqlalchemy import insert, select

        from kernel.db import db, utcnow
        from kernel.models import Customer, TicketType

        self.agent = make_agent()
        self.agent_id = self.agent.id
        now = utcnow()
        db.session.execute(insert(Customer), [
            {"name": f"Customer {i}", "note": "", "created_at": now} for i in range(CUSTOMERS)
        ])
        db.session.commit()
        self.customer_ids = list(db.session.scalars(select(Customer.id).order_by(Customer.id)))
        ttype = db.session.scalar(select(TicketType).where(TicketType.key == TYPE_KEY))
        status = ttype.initial_status or ttype.pipeline.statuses[0]
        self.type_id = ttype.id
        self.type_key = ttype.key
        self.template = ttype.number_template
        self.status_id = status.id
        self.status_key = status.key
        db.session.commit()

    def refresh(self) -> None:
        """Load the agent into the current session (after an app context ended)."""
        from kernel.db import db
        from kernel.models import User

        self.agent = db.session.get(User, self.agent_id)

    def raw(self, i: int) -> dict[str, Any]:
        """The form input of ticket ``i`` (what the web form or the API would pass)."""
        return {
            "subject": f"Printer {i} is on fire",
            "text": "It started this morning; the smoke is blue.",
            "queue": QUEUES[i % len(QUEUES)],
            "priority": PRIORITIES[i % len(PRIORITIES)],
            "customer": self.customer_ids[i % len(self.customer_ids)],
            "contract_number": f"C-{i:06d}",
            "campaign": CAMPAIGNS[i % len(CAMPAIGNS)],
        }

    def rows(self, i: int, seq: int, now) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``tickets`` and ``ticket_events`` rows the service writes for ticket ``i``
        (the event's ``ticket_id`` is left for the caller)."""
        from kernel import numbering

        raw = self.raw(i)
        variables = numbering.variables_for(self.type_key, now)
        number = numbering.render(self.template, variables, seq)
        values = {"contract_number": raw["contract_number"], "campaign": raw["campaign"]}
        ticket = {
            "number": number, "type_id": self.type_id, "status_id": self.status_id,
            "subject": raw["subject"], "text": raw["text"], "customer_id": raw["customer"],
            "assignee_id": self.agent_id, "author_id": self.agent_id,
            "priority": raw["priority"], "queue": raw["queue"], "urgent": False,
            "deadline": None, "location": None, "created_at": now, "updated_at": now,
            "closed_at": None, "status_changed_at": now, "values": values, "version": 1,
        }
        loaded = {k: v for k, v in raw.items() if k not in values}
        loaded.update(values)
        loaded["customer"] = raw["customer"]
        loaded["assignee"] = self.agent_id
        event = {
            "at": now, "actor_id": self.agent_id, "via": None, "kind": "created",
            "data": {"number": number, "type": self.type_key, "status": self.status_key,
                     "values": loaded},
        }
        return ticket, event


# -- the three ways to write the rows ----------------------------------------


def service_run(fx: Fixture, start: int, count: int) -> None:
    from kernel.services import tickets

    for i in range(start, start + count):
        tickets.create(fx.raw(i), actor=fx.agent, type=TYPE_KEY)


def _counter_statements(fx: Fixture, now, step: int):
    from sqlalchemy import update
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from kernel import numbering
    from kernel.models import NumberCounter

    key = numbering.counter_key(fx.template, numbering.variables_for(fx.type_key, now))
    upsert = sqlite_insert(NumberCounter).values(key=key, value=0).on_conflict_do_nothing()
    bump = (update(NumberCounter).where(NumberCounter.key == key)
            .values(value=NumberCounter.value + step).returning(NumberCounter.value))
    return upsert, bump


def bulk_run(fx: Fixture, start: int, count: int) -> None:
    from sqlalchemy import func, insert, select

    from kernel.db import db, utcnow
    from kernel.models import Ticket, TicketEvent

    with db.engine.begin() as conn:
        now = utcnow()
        upsert, bump = _counter_statements(fx, now, count)
        conn.execute(upsert)
        first_seq = conn.execute(bump).scalar_one() - count + 1
        first_id = (conn.scalar(select(func.max(Ticket.id))) or 0) + 1
        tickets, events = [], []
        for n in range(count):
            ticket, event = fx.rows(start + n, first_seq + n, now)
            ticket["id"] = event["ticket_id"] = first_id + n
            tickets.append(ticket)
            events.append(event)
        conn.execute(insert(Ticket.__table__), tickets)
        conn.execute(insert(TicketEvent.__table__), events)


def per_ticket_run(fx: Fixture, start: int, count: int) -> None:
    from sqlalchemy import insert

    from kernel.db import db, utcnow
    from kernel.models import Ticket, TicketEvent

    engine = db.engine
    for i in range(start, start + count):
        with engine.begin() as conn:
            now = utcnow()
            upsert, bump = _counter_statements(fx, now, 1)
            conn.execute(upsert)
            seq = conn.execute(bump).scalar_one()
            ticket, event = fx.rows(i, seq, now)
            ticket_id = conn.execute(insert(Ticket.__table__).values(**ticket)) \
                .inserted_primary_key[0]
            conn.execute(insert(TicketEvent.__table__).values(ticket_id=ticket_id, **event))


RUNS: dict[str, Callable[[Fixture, int, int], None]] = {
    "service": service_run,
    "core per ticket": per_ticket_run,
    "core bulk": bulk_run,
}


# -- measuring ----------------------------------------------------------------


def _release(fx: Fixture) -> None:
    """End the session's transaction: SQLite transactions here are BEGIN IMMEDIATE,
    so an open one would block the Core runs' writes."""
    from kernel.db import db

    db.session.commit()


def _snapshot():
    """What the database holds after a run, to prove the three runs wrote the same."""
    from sqlalchemy import func, select

    from kernel.db import db
    from kernel.models import NumberCounter, Ticket, TicketEvent

    tickets = db.session.scalar(select(func.count(Ticket.id)))
    events = db.session.scalar(select(func.count(TicketEvent.id)).where(
        TicketEvent.kind == "created"))
    counter = db.session.scalar(select(func.max(NumberCounter.value)))
    last = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == last.id))
    shape = (last.number, last.subject, last.queue, last.priority, last.customer_id is not None,
             last.assignee_id is not None, last.values, sorted(event.data["values"]))
    db.session.commit()
    return tickets, events, counter, shape


def _memory(run, fx: Fixture, start: int, count: int) -> tuple[float, float]:
    """tracemalloc peak and retained KiB of one block of ``count`` tickets."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run(fx, start, count)
        _release(fx)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - base) / 1024, (current - base) / 1024


def profile_service(root: str, count: int = 500, top: int = 30) -> str:
    """cProfile of ``count`` service creates, sorted by cumulative time."""
    app = make_app(root, "create-profile")
    with app_context(app):
        fx = Fixture()
        service_run(fx, 0, WARMUP)
        profiler = cProfile.Profile()
        profiler.enable()
        service_run(fx, WARMUP, count)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run(root: str, sizes: Sizes) -> dict[str, Any]:
    n, rounds = sizes.create, sizes.create_rounds
    block = n // rounds
    title(f"(a) Creating {n:,} tickets: service layer vs plain SQLAlchemy Core (SQLite)")
    print(f"{rounds} rounds of {block:,} tickets per run, the runs interleaved (the order "
          f"rotates each round) so that background load hits them alike")
    apps, fixtures = {}, {}
    for name, fn in RUNS.items():
        apps[name] = app = make_app(root, "create-" + name.replace(" ", "-"))
        with app.app_context():
            fixtures[name] = fx = Fixture()
            fn(fx, 0, WARMUP)  # compiled-statement caches, first counter row
            _release(fx)
    timings = dict.fromkeys(RUNS, 0.0)
    names = list(RUNS)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, fx = RUNS[name], fixtures[name]
            with apps[name].app_context():
                fx.refresh()
                start = WARMUP + r * block
                timings[name] += seconds(lambda fn=fn, fx=fx, start=start: (
                    fn(fx, start, block), _release(fx)))
    memory: dict[str, tuple[float, float]] = {}
    snapshots = {}
    for name, fn in RUNS.items():
        with app_context(apps[name]):
            fx = fixtures[name]
            fx.refresh()
            snapshots[name] = _snapshot()
            memory[name] = _memory(fn, fx, WARMUP + n, sizes.memory_block)
    base_bulk = n / timings["core bulk"]
    base_each = n / timings["core per ticket"]
    rows = []
    for name in RUNS:
        rate = n / timings[name]
        per = timings[name] / n * 1000
        rows.append((name, f"{timings[name]:.2f}", f"{rate:,.0f}", f"{per:.3f}",
                     ratio(base_bulk, rate), ratio(base_each, rate)))
    table(rows, ("run", "seconds", "tickets/s", "ms/ticket", "slower than bulk",
                 "slower than per-ticket"))
    print()
    block = sizes.memory_block
    mem_rows = [(name, f"{peak:,.0f}", f"{kept:,.0f}", ratio(peak, memory["core bulk"][0]))
                for name, (peak, kept) in memory.items()]
    table(mem_rows, ("run", f"peak KiB / {block:,} tickets", "retained KiB", "peak vs bulk"))
    counts = {name: snap[:3] for name, snap in snapshots.items()}
    expected = WARMUP + n
    same_counts = all(c == (expected, expected, expected) for c in counts.values())
    same_rows = len({repr(snap[3]) for snap in snapshots.values()}) == 1
    print()
    print(f"check: each database holds {expected:,} tickets, {expected:,} 'created' events, "
          f"counter at {expected:,}: {'yes' if same_counts else 'NO ' + repr(counts)}; "
          f"last rows alike: {'yes' if same_rows else 'NO'}")
    print(f"kernel overhead (service vs core per ticket): "
          f"{ratio(base_each, n / timings['service'])}; "
          f"vs core bulk: {ratio(base_bulk, n / timings['service'])}")
    return {"timings": timings, "memory": memory, "ok": same_counts and same_rows}
