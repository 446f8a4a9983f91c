"""History conditions (seed 002, S4): the customer's other tickets."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from kernel.db import db, utcnow
from kernel.models import Ticket
from kernel.services import customers, tickets
from plugins.triggers import engine

pytestmark = pytest.mark.plugins("helpdesk", "triggers")


def _holds(ticket, key, **params):
    """Judged now, as a new event on the ticket is (the dry run of the ticket's
    recorded creation would count the other tickets as they were then)."""
    rule = {"name": "probe", "events": ["created"], "actions": [],
            "conditions": {"condition": key, "params": params}}
    now = SimpleNamespace(id=None, kind="created", data={}, via=None, actor=None,
                          actor_id=None, ticket_id=ticket.id, at=utcnow())
    return engine.test_rule(rule, ticket, now)["would_fire"]


def test_the_dry_run_of_a_past_event_counts_the_tickets_as_they_were(app, agent, customer):
    first = tickets.create({"subject": "first", "customer": customer.id}, actor=agent)
    failed = tickets.create({"subject": "failed", "customer": customer.id}, actor=agent,
                            type="probe_order")
    current = tickets.create({"subject": "now", "customer": customer.id}, actor=agent)
    tickets.transition(first, "resolved", actor=agent)  # closed after "now" was created
    tickets.transition(failed, "cancelled", actor=agent)
    tickets.create({"subject": "later", "customer": customer.id}, actor=agent)
    rule = {"name": "probe", "events": ["created"], "actions": [], "conditions": {}}

    def then(key, **params):
        return engine.test_rule({**rule, "conditions": {"condition": key, "params": params}},
                                current)["would_fire"]

    assert then("triggers.customer_has_open_ticket", type="probe_order")  # open then
    assert not _holds(current, "triggers.customer_has_open_ticket", type="probe_order")
    assert not then("triggers.customer_recent_failure", days=30)  # cancelled later
    assert _holds(current, "triggers.customer_recent_failure", days=30)
    assert then("triggers.customer_ticket_count", min_count=2, days=30)
    assert not then("triggers.customer_ticket_count", min_count=3, days=30)  # "later" is later
    assert _holds(current, "triggers.customer_ticket_count", min_count=3, days=30)


def _age(ticket, days):
    """Pretend the ticket was created ``days`` ago."""
    ticket.created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_customer_ticket_count(app, agent, customer):
    other = customers.create({"name": "Other"})
    old = tickets.create({"subject": "old", "customer": customer.id}, actor=agent)
    _age(old, 40)
    tickets.create({"subject": "recent", "customer": customer.id}, actor=agent)
    tickets.create({"subject": "order", "customer": customer.id}, actor=agent, type="probe_order")
    tickets.create({"subject": "someone else", "customer": other.id}, actor=agent)
    current = tickets.create({"subject": "now", "customer": customer.id}, actor=agent)
    key = "triggers.customer_ticket_count"
    assert _holds(current, key, min_count=2, days=30)  # recent + order
    assert not _holds(current, key, min_count=3, days=30)
    assert _holds(current, key, min_count=3, days=30, include_current=True)
    assert _holds(current, key, min_count=3, days=60)
    assert _holds(current, key, type="request", min_count=1, days=30)
    assert not _holds(current, key, type="request", min_count=2, days=30)
    assert _holds(current, key, type="probe_order", min_count=1, days=1)
    nobody = tickets.create({"subject": "no customer"}, actor=agent)
    assert not _holds(nobody, key, min_count=0, days=30)


def test_customer_has_open_ticket(app, agent, customer):
    current = tickets.create({"subject": "now", "customer": customer.id}, actor=agent)
    key = "triggers.customer_has_open_ticket"
    assert not _holds(current, key)  # this ticket does not count
    order = tickets.create({"subject": "order", "customer": customer.id}, actor=agent,
                           type="probe_order")
    assert _holds(current, key)
    assert _holds(current, key, type="probe_order")
    assert not _holds(current, key, type="request")
    tickets.transition(order, "cancelled", actor=agent)
    assert not _holds(current, key)


def test_customer_recent_failure(app, agent, customer):
    key = "triggers.customer_recent_failure"
    current = tickets.create({"subject": "now", "customer": customer.id}, actor=agent)
    refused = tickets.create({"subject": "refused", "customer": customer.id}, actor=agent,
                             type="probe_order")
    assert not _holds(current, key, type="probe_order", days=30)
    tickets.transition(refused, "cancelled", actor=agent)
    assert _holds(current, key, type="probe_order", days=30)
    assert not _holds(current, key, type="request", days=30)
    done = tickets.create({"subject": "done", "customer": customer.id}, actor=agent)
    tickets.transition(done, "resolved", actor=agent)  # a success is not a failure
    assert not _holds(current, key, type="request", days=30)
    refused = db.session.get(Ticket, refused.id)
    refused.closed_at = utcnow() - timedelta(days=45)
    db.session.commit()
    assert not _holds(current, key, type="probe_order", days=30)
    assert _holds(current, key, days=60)


def test_repeat_request_rule_end_to_end(app, agent, customer, make_rule):
    """S4: a new contact of a customer whose order was cancelled this month is
    categorised as a repeat request and linked to the failed order."""
    make_rule("Repeat request", ["created"], [
        {"action": "triggers.set_fields", "params": {"values": {"probe_note": "repeat"}}},
        {"action": "triggers.add_note", "params": {"body": "Repeat request: check the "
                                                   "cancelled order."}}],
        {"all": [{"field": "type", "op": "is", "value": "request"},
                 {"condition": "triggers.customer_recent_failure",
                  "params": {"type": "probe_order", "days": 30}}]})
    order = tickets.create({"subject": "order", "customer": customer.id}, actor=agent,
                           type="probe_order")
    first = tickets.create({"subject": "first", "customer": customer.id}, actor=agent)
    assert first.value("probe_note") is None
    tickets.transition(order, "cancelled", actor=agent)
    second = tickets.create({"subject": "second", "customer": customer.id}, actor=agent)
    assert second.value("probe_note") == "repeat"
