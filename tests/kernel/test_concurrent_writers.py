"""Concurrent writers wait instead of failing (issue "Holding load"): no write
outside a unit of work, no write on every read, and a message never conflicts
with another message or with an edit."""

from __future__ import annotations

import ast
import pathlib
import threading
from datetime import timedelta

import pytest

from kernel.db import db, utcnow
from kernel.errors import Conflict
from kernel.models import ApiToken, Message, Ticket, User
from kernel.services import messages, tickets, tokens

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The only module that commits: everything else writes inside ``unit_of_work()``.
ALLOWED = {ROOT / "kernel" / "services" / "uow.py"}


def _commit_calls(path: pathlib.Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"]


def test_nothing_commits_outside_a_unit_of_work():
    offenders = []
    for folder in ("kernel", "web", "plugins", "docs/examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in ALLOWED or "migrations" in path.parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in _commit_calls(path)]
    assert offenders == [], "commit() outside kernel/services/uow.py: " + ", ".join(offenders)


def test_the_check_finds_a_commit(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("def f(db):\n    db.session.commit()\n")
    assert _commit_calls(sample) == [2]


def _run_at_once(app, count: int, work) -> list[BaseException]:
    db.session.commit()  # test setup: the main thread holds no transaction
    barrier = threading.Barrier(count, timeout=30)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                work(n)
                db.session.remove()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


def test_replies_at_the_same_time_all_land(app, agent, make_ticket):
    ticket_id, agent_id = make_ticket(subject="busy").id, agent.id
    version = db.session.get(Ticket, ticket_id).version

    def reply(n: int) -> None:
        ticket = db.session.get(Ticket, ticket_id)
        actor = db.session.get(User, agent_id)
        messages.post(ticket, f"reply {n}", actor=actor)

    assert _run_at_once(app, 8, reply) == []
    bodies = db.session.scalars(db.select(Message.body).where(Message.ticket_id == ticket_id))
    assert sorted(bodies) == sorted(f"reply {n}" for n in range(8))
    # A message changes no field: the ticket's version (its ETag) stays.
    assert db.session.get(Ticket, ticket_id).version == version


def test_edits_without_a_version_last_write_wins(app, agent, make_ticket):
    ticket_id, agent_id = make_ticket(subject="start").id, agent.id

    def edit(n: int) -> None:
        ticket = db.session.get(Ticket, ticket_id)
        actor = db.session.get(User, agent_id)
        if n % 2:
            messages.post(ticket, f"note {n}", actor=actor)
        else:
            tickets.update(ticket, {"subject": f"edit {n}"}, actor=actor)

    assert _run_at_once(app, 6, edit) == []
    assert db.session.get(Ticket, ticket_id).subject in {f"edit {n}" for n in (0, 2, 4)}


def test_a_stale_version_is_still_a_conflict(app, agent, make_ticket):
    ticket = make_ticket(subject="v1")
    stale = ticket.version
    tickets.update(ticket, {"subject": "v2"}, actor=agent)
    with pytest.raises(Conflict):
        tickets.update(ticket, {"subject": "v3"}, actor=agent, expected_version=stale)


def test_a_token_is_stamped_at_most_once_a_minute(app, agent):
    row, secret = tokens.create(agent, "load")
    assert tokens.authenticate(secret).id == agent.id
    first = db.session.get(ApiToken, row.id).last_used_at
    assert first is not None
    writes = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    from sqlalchemy import event

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert tokens.authenticate(secret).id == agent.id
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert writes == []
    # A minute later the next call stamps it again.
    older = utcnow() - timedelta(minutes=2)
    db.session.execute(db.update(ApiToken).where(ApiToken.id == row.id)
                       .values(last_used_at=older))
    db.session.commit()  # test setup
    tokens._stamped.clear()
    tokens.authenticate(secret)
    assert db.session.get(ApiToken, row.id).last_used_at > older


def test_concurrent_api_calls_with_one_token_never_fail(app, agent):
    row, secret = tokens.create(agent, "burst")
    db.session.execute(db.update(ApiToken).where(ApiToken.id == row.id)
                       .values(last_used_at=None))
    tokens._stamped.clear()
    results = []

    def call(_n: int) -> None:
        results.append(tokens.authenticate(secret).id)

    assert _run_at_once(app, 10, call) == []
    assert results == [agent.id] * 10
    assert db.session.get(ApiToken, row.id).last_used_at is not None
