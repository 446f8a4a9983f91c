"""Links between tickets, optimistic concurrency, signals after commit only, and
nested units of work that undo only their own part."""

import logging

import pytest

from kernel import signals
from kernel.db import db
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.models import Message, Ticket, TicketEvent, TicketLink, User
from kernel.services import history, links, messages, tickets
from kernel.services.uow import in_unit_of_work, unit_of_work


@pytest.fixture
def received():
    """Connect a recorder to every kernel signal; ``received`` lists (signal, kwargs)."""
    seen: list[tuple[str, dict]] = []
    receivers = []
    for signal in signals.ALL:
        def receiver(sender, _name=signal.name, **kw):
            seen.append((_name, kw))
        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield seen
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def names(seen):
    return [name for name, _kw in seen if name != "event-recorded"]


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


# -- links ---------------------------------------------------------------------------


def test_link_records_history_on_both_sides_once(app, agent, make_ticket, received):
    contact, request = make_ticket(actor=agent), make_ticket(actor=agent)
    row = links.link(contact, request, "converted_to", actor=agent)
    assert links.link(contact, request, "converted_to", actor=agent) is row  # idempotent
    assert links.links_of(contact) == [row] == links.links_of(request)
    assert [e.data for e in history.for_ticket(contact) if e.kind == "linked"] == [
        {"kind": "converted_to", "target": request.number, "target_id": request.id}]
    assert [e.data for e in history.for_ticket(request) if e.kind == "linked"] == [
        {"kind": "converted_to", "source": contact.number, "source_id": contact.id,
         "incoming": True}]
    assert names(received).count("tickets-linked") == 1
    other = links.link(contact, request, "related", actor=agent)  # another kind is another link
    assert other.id != row.id and count(TicketLink) == 2


def test_bad_links_are_refused(app, agent, customer_user, make_ticket):
    a, b = make_ticket(actor=agent), make_ticket(actor=agent)
    with pytest.raises(ValidationFailed) as failed:
        links.link(a, b, "married_to", actor=agent)
    assert "married_to" in failed.value.errors["kind"][0]
    with pytest.raises(ValidationFailed) as failed:
        links.link(a, a, actor=agent)
    assert set(failed.value.errors) == {"target"}
    mine = tickets.create({"subject": "mine"}, actor=customer_user)
    with pytest.raises(NotFound):  # a customer cannot see b at all
        links.link(mine, b, actor=customer_user)
    with pytest.raises(PermissionDenied):
        links.link(mine, mine, actor=customer_user)
    assert count(TicketLink) == 0


# -- optimistic concurrency ---------------------------------------------------------------


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(app, agent, admin,
                                                                    make_ticket):
    ticket = make_ticket(actor=agent, queue="general")
    assert ticket.version == 1
    tickets.update(ticket, {"queue": "billing"}, actor=agent, expected_version=1)
    assert ticket.version == 2
    events = count(TicketEvent)
    for call in (
        lambda: tickets.update(ticket, {"queue": "technical"}, actor=agent, expected_version=1),
        lambda: tickets.transition(ticket, "in_progress", actor=agent, expected_version=1),
        lambda: tickets.assign(ticket, admin, actor=agent, expected_version=1),
    ):
        with pytest.raises(Conflict) as conflict:
            call()
        assert ticket.number in conflict.value.message and conflict.value.status == 409
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert (fresh.queue, fresh.status.key, fresh.assignee_id, fresh.version) == \
        ("billing", "new", agent.id, 2)
    assert count(TicketEvent) == events


def someone_else(app, ticket_id, user_id, change):
    """Another request, with its own app context and session, changes the ticket."""
    with app.app_context():
        other = db.session.get(Ticket, ticket_id)
        change(other, db.session.get(User, user_id))


def test_a_change_made_meanwhile_by_someone_else_is_a_conflict(app, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    tickets.transition(ticket, "in_progress", actor=agent)
    assert ticket.status.key == "in_progress"  # what this person sees on the card
    someone_else(app, ticket.id, agent.id,
                 lambda t, user: tickets.transition(t, "resolved", actor=user))
    # in_progress -> waiting is allowed, but the ticket is resolved by now and
    # resolved -> waiting is not: the stale move must not go through.
    with pytest.raises(Conflict):
        tickets.transition(ticket, "waiting", actor=agent)
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh.status.key == "resolved"
    assert [e.data["to"] for e in history.for_ticket(fresh) if e.kind == "status_changed"] == \
        ["in_progress", "resolved"]


def test_a_form_submitted_after_someone_else_saved_is_a_conflict(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, queue="general")
    seen_version = ticket.version  # the version the form was rendered with
    someone_else(app, ticket.id, agent.id,
                 lambda t, user: tickets.update(t, {"queue": "billing"}, actor=user))
    with pytest.raises(Conflict):
        tickets.update(ticket, {"queue": "technical"}, actor=agent,
                       expected_version=seen_version)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).queue == "billing"


# -- signals: after commit, never on rollback ------------------------------------------------


def test_signals_are_sent_after_commit_with_the_real_app(app, agent):
    seen = []

    def receiver(sender, **kw):
        assert not in_unit_of_work()
        number = kw["ticket"].number
        # Another session (another connection) already sees the row: it is committed.
        with app.app_context():
            visible = db.session.scalar(db.select(Ticket.number).where(Ticket.number == number))
        seen.append((sender, kw["app"], visible, kw["actor"].id, kw["event"].kind))

    signals.ticket_created.connect(receiver, weak=False)
    try:
        ticket = tickets.create({"subject": "Announce me"}, actor=agent)
    finally:
        signals.ticket_created.disconnect(receiver)
    assert seen == [("kernel.tickets", app, ticket.number, agent.id, "created")]
    assert type(seen[0][1]) is type(app)  # the app itself, never the current_app proxy


def test_no_signal_for_a_refused_or_rolled_back_change(app, agent, make_ticket, received):
    ticket = make_ticket(actor=agent)
    received.clear()
    with pytest.raises(ValidationFailed):
        tickets.create({"subject": ""}, actor=agent)
    with pytest.raises(ValidationFailed):
        tickets.update(ticket, {"urgent": "maybe"}, actor=agent)
    with pytest.raises(LookupError), unit_of_work():
        tickets.create({"subject": "rolled back"}, actor=agent)
        tickets.transition(ticket, "in_progress", actor=agent)
        messages.post(ticket, "rolled back too", actor=agent)
        raise LookupError("the caller's later step failed")
    assert received == []
    assert count(Ticket) == 1 and count(Message) == 0
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status.key == "new"


def test_a_failing_receiver_does_not_undo_the_committed_change(app, agent):
    def broken(sender, **kw):
        raise RuntimeError("mail server down")

    signals.ticket_created.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError):  # the test config re-raises receiver errors
            tickets.create({"subject": "Saved anyway"}, actor=agent)
    finally:
        signals.ticket_created.disconnect(broken)
    assert db.session.scalars(db.select(Ticket.subject)).all() == ["Saved anyway"]


@pytest.mark.app_config(HOOKDESK_RAISE_SIGNAL_ERRORS=False)
def test_in_production_a_failing_receiver_is_logged(app, agent, caplog):
    def broken(sender, **kw):
        raise RuntimeError("mail server down")

    signals.ticket_created.connect(broken, weak=False)
    try:
        with caplog.at_level(logging.ERROR, logger="hookdesk.signals"):
            ticket = tickets.create({"subject": "Saved anyway"}, actor=agent)
    finally:
        signals.ticket_created.disconnect(broken)
    assert ticket.id is not None
    assert "mail server down" in caplog.text


# -- nested units of work --------------------------------------------------------------------


def test_a_failed_inner_unit_undoes_only_its_own_part(app, agent, received):
    with unit_of_work():
        kept = tickets.create({"subject": "kept"}, actor=agent)
        with pytest.raises(LookupError), unit_of_work():
            tickets.create({"subject": "inner"}, actor=agent)
            messages.post(kept, "inner note", actor=agent, internal=True)
            tickets.transition(kept, "in_progress", actor=agent)
            raise LookupError("the inner step failed")
        with pytest.raises(ValidationFailed):  # a refused call inside changes nothing either
            tickets.update(kept, {"urgent": "maybe"}, actor=agent)
        messages.post(kept, "outer note", actor=agent)
        assert received == []  # nothing is announced before the outer commit
    assert db.session.scalars(db.select(Ticket.subject)).all() == ["kept"]
    assert db.session.scalars(db.select(Message.body)).all() == ["outer note"]
    db.session.expire_all()
    assert db.session.get(Ticket, kept.id).status.key == "new"
    assert names(received) == ["ticket-created", "message-posted"]
    assert [kw["ticket"].subject for _n, kw in received if _n == "ticket-created"] == ["kept"]
    # The inner ticket's number went back to the counter.
    assert tickets.create({"subject": "next"}, actor=agent).number.endswith("-00002")


def test_an_inner_unit_that_succeeds_commits_with_the_outer_one(app, agent, received):
    with pytest.raises(LookupError), unit_of_work():
        with unit_of_work():
            tickets.create({"subject": "inner"}, actor=agent)
        raise LookupError("the outer part failed after the inner one succeeded")
    assert count(Ticket) == 0 and received == []
    with unit_of_work():
        with unit_of_work():
            tickets.create({"subject": "inner"}, actor=agent)
        tickets.create({"subject": "outer"}, actor=agent)
    assert sorted(db.session.scalars(db.select(Ticket.subject))) == ["inner", "outer"]
    assert names(received) == ["ticket-created", "ticket-created"]
