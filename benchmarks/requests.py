"""(h) What one request costs: SQL statements and in-process milliseconds per
request kind, through the Flask test client (no network), every built-in plugin
enabled, on SQLite.

The REST API kinds of the load test (``benchmarks/load``): create, list, get,
reply — by a customer with their own token — and the pages a person opens most:
the portal's create form post, the portal card and the agents' card. The
baseline of the milliseconds is a bare ``GET /api/v1/ping``-like request: the
cheapest request the app answers (token check included), measured in the same
run; statement counts are exact.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from benchmarks.common import app_context, statements, table, title

REPEATS = 40


def _setup(app) -> dict[str, Any]:
    from kernel.services import messages, tickets, tokens, users

    agent = users.create({"email": "req-agent@bench.example", "password": "bench-pass-1",
                          "roles": ["agent"], "name": "Agent"})
    customer = users.create({"email": "req-buyer@bench.example", "password": "bench-pass-1",
                             "kind": "customer", "name": "Buyer"})
    _row, agent_token = tokens.create(agent, "bench")
    _row, customer_token = tokens.create(customer, "bench")
    ticket = tickets.create({"subject": "Printer on fire", "text": "Blue smoke."}, actor=customer)
    for n in range(10):
        messages.post(ticket, f"Answer {n}", actor=agent if n % 2 else customer)
    return {"agent": agent.id, "customer": customer.id, "agent_token": agent_token,
            "customer_token": customer_token, "ticket": ticket.id, "number": ticket.number}


def _login(client, email: str) -> None:
    from kernel.db import db
    from kernel.models import User
    from web.testing import login

    login(client, db.session.scalar(db.select(User).where(User.email == email)))


def kinds(app, world: dict[str, Any]) -> dict[str, Any]:
    """``{name: callable(n) -> response}`` of each request kind."""
    api = app.test_client()
    portal = app.test_client()
    staff = app.test_client()
    _login(portal, "req-buyer@bench.example")
    _login(staff, "req-agent@bench.example")
    customer = {"Authorization": f"Bearer {world['customer_token']}"}
    agent = {"Authorization": f"Bearer {world['agent_token']}"}
    ref = world["number"]
    return {
        "API create (customer)": lambda n: api.post(
            "/api/v1/tickets", json={"values": {"subject": f"Bench {n}", "text": "It broke."}},
            headers=customer),
        "API list (customer)": lambda n: api.get("/api/v1/tickets", headers=customer),
        "API get (customer)": lambda n: api.get(f"/api/v1/tickets/{ref}", headers=customer),
        "API reply (customer)": lambda n: api.post(
            f"/api/v1/tickets/{ref}/messages", json={"body": f"More {n}"}, headers=customer),
        "API reply (agent)": lambda n: api.post(
            f"/api/v1/tickets/{ref}/messages", json={"body": f"Answer {n}"}, headers=agent),
        "portal create (form)": lambda n: portal.post(
            "/portal/new?type=request",
            data={"subject": f"Form {n}", "text": "It broke.", "queue": "technical"}),
        "portal card": lambda n: portal.get(f"/portal/tickets/{world['ticket']}"),
        "agent card": lambda n: staff.get(f"/agent/tickets/{world['ticket']}"),
    }


def measure(app, world: dict[str, Any], repeats: int = REPEATS) -> list[tuple[str, int, float]]:
    """``[(kind, statements, median ms)]``. Outside an application context, as a
    server runs: each request gets its own context and session."""
    from kernel.db import db

    with app.app_context():
        engine = db.engine
        calls = kinds(app, world)
    results = []
    for name, call in calls.items():
        answer = call(0)
        expected = 303 if "form" in name else (201 if "create" in name or "reply" in name else 200)
        assert answer.status_code == expected, (name, answer.status_code, answer.get_data()[:300])
        with statements(engine) as seen:
            call(1)
        if os.environ.get("HOOKDESK_BENCH_SQL") == name:
            print("\n".join(sql.replace("\n", " ")[:200] for sql, _params in seen))
        samples = []
        for n in range(repeats):
            start = time.perf_counter()
            call(n + 2)
            samples.append((time.perf_counter() - start) * 1000)
        results.append((name, len(seen), statistics.median(samples)))
    return results


def config(folder: str) -> dict[str, Any]:
    """Jobs go to a queue no worker reads: what the request costs, not the worker."""
    return {"WTF_CSRF_ENABLED": False,
            "HOOKDESK_QUEUE_URL": f"sqlite:///{os.path.join(folder, 'queue.db')}"}


def run(root: str, quick: bool) -> list[tuple[str, int, float]]:
    from kernel.testing import build_app

    title("(h) one request: SQL statements and in-process ms per kind (SQLite, all plugins)")
    folder = os.path.join(root, "requests")
    os.makedirs(folder, exist_ok=True)
    app = build_app(folder, plugins=None, extra_config=config(folder))
    with app_context(app):
        world = _setup(app)
    results = measure(app, world, 15 if quick else REPEATS)
    table([(name, str(count), f"{ms:.1f}") for name, count, ms in results],
          ("request", "statements", "median ms"))
    return results
