from datetime import UTC, datetime, timedelta

import pytest

from kernel import signals
from kernel.db import db
from kernel.errors import NotFound, PermissionDenied, TransitionRefused, ValidationFailed
from kernel.models import Ticket, TicketEvent
from kernel.services import history, messages, tickets


def test_create_numbers_records_history_and_signals(app, agent):
    seen = []
    signals.ticket_created.connect(lambda sender, **kw: seen.append(kw["ticket"].number),
                                   weak=False)
    try:
        ticket = tickets.create({"subject": "Printer on fire", "queue": "technical",
                                 "contract_number": "C-17"}, actor=agent)
    finally:
        signals.ticket_created.receivers.clear()
    year = datetime.now(UTC).year
    assert ticket.number == f"REQ-{year}-00001"
    assert ticket.status.key == "new"
    assert ticket.assignee_id == agent.id  # the manager defaults to the creator
    assert ticket.values == {"contract_number": "C-17"}
    assert seen == [ticket.number]
    events = history.for_ticket(ticket)
    assert [e.kind for e in events] == ["created"]
    assert events[0].actor_id == agent.id
    assert events[0].data["values"]["subject"] == "Printer on fire"


def test_transition_follows_pipeline(app, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.transition(ticket, "resolved", actor=agent)
    assert ticket.closed_at is not None
    with pytest.raises(TransitionRefused) as refused:
        tickets.transition(ticket, "waiting", actor=agent)
    assert "'resolved' to 'waiting' is not allowed" in refused.value.message
    assert "allowed next: in_progress" in refused.value.message
    tickets.transition(ticket, "in_progress", actor=agent)
    assert ticket.closed_at is None
    kinds = [e.kind for e in history.for_ticket(ticket)]
    assert kinds.count("status_changed") == 3


def test_unknown_status_names_the_field(app, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    with pytest.raises(ValidationFailed) as failed:
        tickets.transition(ticket, "teleported", actor=agent)
    assert "status" in failed.value.errors
    assert "teleported" in failed.value.errors["status"][0]


def test_update_records_only_real_changes(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, queue="general")
    changes = tickets.update(ticket, {"queue": "billing", "subject": "Test ticket"}, actor=agent)
    assert changes == {"queue": ["general", "billing"]}
    assert tickets.update(ticket, {"queue": "billing"}, actor=agent) == {}
    events = [e for e in history.for_ticket(ticket) if e.kind == "fields_changed"]
    assert len(events) == 1
    assert events[0].data["changes"] == {"queue": ["general", "billing"]}


def test_deadline_is_stored_in_utc(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, deadline="2030-01-02T12:00:00+03:00")
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh.deadline == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)


def test_assign_and_history(app, admin, agent, make_ticket):
    ticket = make_ticket(actor=admin)
    tickets.assign(ticket, agent, actor=admin)
    assert ticket.assignee_id == agent.id
    last = history.for_ticket(ticket)[-1]
    assert last.kind == "assigned" and last.data == {"from": admin.id, "to": agent.id}


def test_assign_refuses_customers(app, admin, customer_user, make_ticket):
    ticket = make_ticket(actor=admin)
    with pytest.raises(ValidationFailed) as failed:
        tickets.assign(ticket, customer_user, actor=admin)
    assert "assignee" in failed.value.errors


def test_history_is_append_only(app, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    event = history.for_ticket(ticket)[0]
    event.kind = "forged"
    with pytest.raises(history.HistoryIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    event = db.session.scalar(db.select(TicketEvent))
    db.session.delete(event)
    with pytest.raises(history.HistoryIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_customer_sees_only_own_tickets(app, agent, customer_user, make_ticket):
    from kernel.services import users

    other = users.create({"email": "other@test.example", "password": "other-pass-1",
                          "kind": "customer", "name": "Other"})
    mine = tickets.create({"subject": "Mine"}, actor=customer_user)
    theirs = tickets.create({"subject": "Theirs"}, actor=other)
    assert mine.customer_id == customer_user.customer_id
    assert tickets.get(mine.id, customer_user) is mine
    with pytest.raises(NotFound):
        tickets.get(theirs.id, customer_user)
    with pytest.raises(NotFound):
        tickets.get(theirs.number, customer_user)
    with pytest.raises(NotFound):
        messages.post(theirs, "hello", actor=customer_user)


def test_customer_cannot_set_agent_fields(app, customer_user):
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "urgent": True, "customer": 1}, actor=customer_user)
    assert set(failed.value.errors) == {"urgent", "customer"}


def test_customer_cannot_transition(app, customer_user):
    ticket = tickets.create({"subject": "x"}, actor=customer_user)
    with pytest.raises(PermissionDenied):
        tickets.transition(ticket, "in_progress", actor=customer_user)


def test_thread_in_time_order_and_internal_notes_hidden(app, agent, customer_user):
    ticket = tickets.create({"subject": "Leak"}, actor=customer_user)
    messages.post(ticket, "Water everywhere", actor=customer_user)
    messages.post(ticket, "Plumber is on the way", actor=agent)
    messages.post(ticket, "Customer sounds angry", actor=agent, internal=True)
    assert [m.body for m in messages.thread(ticket, agent)] == [
        "Water everywhere", "Plumber is on the way", "Customer sounds angry"]
    assert [m.body for m in messages.thread(ticket, customer_user)] == [
        "Water everywhere", "Plumber is on the way"]
    with pytest.raises(ValidationFailed):
        messages.post(ticket, "sneaky", actor=customer_user, internal=True)


def test_overdue_counter(app, agent, make_ticket):
    from kernel.services import queries

    past = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    make_ticket(actor=agent, deadline=past)
    make_ticket(actor=agent, urgent=True)
    late_closed = make_ticket(actor=agent, deadline=past)
    tickets.transition(late_closed, "resolved", actor=agent)
    assert queries.counters(agent) == {"overdue": 1, "urgent": 1}
