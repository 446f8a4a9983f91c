"""SQL statements per ticket card (issue 14, goal 2): the agents' card and the
customer's portal card, every built-in plugin enabled (their panels too),
counted with the engine's ``before_cursor_execute`` event.

The count must not grow with the ticket's messages and events. The goal is at
most 10 per card; the bounds below are what the cards cost today (down from 30
and 24): a regression guard until the panels and the timeline are batched."""

from __future__ import annotations

import pytest
from flask.globals import _cv_app

from benchmarks.common import statements
from kernel.db import db
from kernel.models import Ticket, User
from kernel.services import messages, tickets
from web.testing import login

AGENT_CARD_MAX = 26
PORTAL_CARD_MAX = 20


def _count(client, url: str) -> int:
    """Statements of one request, served as a server does: in a context (and a
    session) of its own, not the test's."""
    engine = db.engine
    context = _cv_app.get()
    context.pop()
    try:
        with statements(engine) as seen:
            answer = client.get(url)
    finally:
        context.push()
    assert answer.status_code == 200
    return len(seen)


@pytest.fixture
def card_ticket(agent, customer_user, make_ticket):
    return make_ticket(actor=customer_user, subject="Printer on fire", text="Blue smoke.")


def _talk(ticket_id: int, agent_id: int, customer_id: int, count: int) -> None:
    ticket = db.session.get(Ticket, ticket_id)
    agent, customer = db.session.get(User, agent_id), db.session.get(User, customer_id)
    for n in range(count):
        messages.post(ticket, f"Message {n}", actor=agent if n % 2 else customer)
    tickets.update(ticket, {"priority": "high"}, actor=agent)


@pytest.mark.parametrize("who, bound", [("agent", AGENT_CARD_MAX),
                                        ("customer", PORTAL_CARD_MAX)])
def test_a_card_costs_the_same_few_statements_whatever_its_length(
        app, client, agent, customer_user, card_ticket, who, bound):
    viewer = agent if who == "agent" else customer_user
    url = (f"/agent/tickets/{card_ticket.id}" if who == "agent"
           else f"/portal/tickets/{card_ticket.id}")
    login(client, viewer)
    ids = card_ticket.id, agent.id, customer_user.id
    _talk(*ids, 2)
    short = _count(client, url)
    _talk(*ids, 12)
    long = _count(client, url)
    assert long == short, f"{who} card: {short} statements with 2 messages, {long} with 14"
    assert short <= bound, f"{who} card: {short} statements (bound {bound})"
