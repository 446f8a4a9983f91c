"""Defect 5 of issue 9, the mail storm: rules answering rules, quick edits and
letters to one address — a bounded number of letters, whatever the rules say.

Four rules "on fields_changed: change a field and e-mail the customer" turned
one edit into 31 letters (129 with five); twenty edits in 0.4 s sent twenty.
Letters go to a real SMTP server on loopback (the ``mailbox`` fixture)."""

from datetime import timedelta

import pytest

from kernel import letters, outbox
from kernel.db import db, utcnow
from kernel.models import OutboxMessage
from kernel.services import customers, tickets
from kernel.services.uow import unit_of_work
from plugins.triggers import service as rules
from plugins.triggers.models import Run

pytestmark = pytest.mark.plugins("helpdesk", "triggers")

ADDRESS = "storm@example.ru"


def _storm_rules(count: int) -> None:
    for i in range(count):
        rules.create({"name": f"Storm {i}", "events": ["fields_changed"], "actions": [
            {"action": "triggers.set_fields", "params": {"values": {"location": f"rule {i}"}}},
            {"action": "triggers.email", "params": {
                "to": "customer", "subject": f"Rule {i}: {{{{ticket.number}}}} changed",
                "body": "Location: {{ticket.location}}"}},
        ]})


@pytest.fixture
def ticket(app, agent):
    customer = customers.create({"name": "Storm Customer", "emails": [ADDRESS]})
    return tickets.create({"subject": "Storm", "customer": customer.id}, actor=agent)


def _rows(status=None):
    query = db.select(OutboxMessage).order_by(OutboxMessage.id)
    if status:
        query = query.where(OutboxMessage.status == status)
    return db.session.scalars(query).all()


def _pass_time(seconds: float) -> None:
    """Everything waiting becomes due, as if ``seconds`` went by."""
    for row in _rows():
        if row.status in ("pending", "held"):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
        for name in ("sent_at", "created_at"):
            if getattr(row, name):
                setattr(row, name, getattr(row, name) - timedelta(seconds=seconds))
    db.session.commit()


@pytest.mark.parametrize("count", [4, 5])
def test_one_edit_is_one_letter(app, agent, ticket, mailbox, count):
    _storm_rules(count)
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    # Each rule ran once in the chain the edit started...
    runs = db.session.scalars(db.select(Run)).all()
    assert sorted(r.rule_name for r in runs) == [f"Storm {i}" for i in range(count)]
    assert all(r.outcome == "ok" for r in runs)
    # ...and their letters to one address about one ticket became one letter.
    assert len(mailbox.messages) == 1
    text = mailbox.text(mailbox.messages[0])
    for i in range(count):
        assert f"Rule {i}: {ticket.number} changed" in text
    assert [r.status for r in _rows()].count("merged") == count - 1


@pytest.mark.app_config(HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_without_coalescing_each_rule_runs_once_per_chain(app, agent, ticket, mailbox):
    _storm_rules(4)
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    assert len(mailbox.messages) == 4  # not 31: once per rule and ticket in the chain


@pytest.mark.app_config(HOOKDESK_TRIGGERS_MAX_ACTIONS=3, HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_the_chain_has_an_action_budget(app, agent, ticket, mailbox):
    _storm_rules(5)  # each rule's first action fires the next rule: 10 actions wanted
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    runs = db.session.scalars(db.select(Run).order_by(Run.id)).all()
    assert sorted(r.outcome for r in runs) == ["budget_limit"] * 2 + ["partial"] * 3
    assert all("spent its budget of 3 actions" in r.error
               for r in runs if r.outcome == "budget_limit")
    cut = [res for r in runs for res in r.results if not res["ok"]]
    assert len(cut) == 3 and all("spent its action budget" in res["error"] for res in cut)
    assert sum(1 for r in runs for res in r.results if res["ok"]) == 3
    assert len(mailbox.messages) == 0
    # The next original change has a budget of its own.
    tickets.update(ticket, {"priority": "low"}, actor=agent)
    assert db.session.scalar(db.select(db.func.count(Run.id))) == 2 * len(runs)


def test_twenty_quick_edits_are_two_letters(app, agent, ticket, mailbox):
    _storm_rules(1)
    for i in range(20):
        tickets.update(ticket, {"subject": f"Edit {i}"}, actor=agent)
    assert len(mailbox.messages) == 1  # the first at once; the rest wait for the window
    waiting = _rows("pending")
    assert len(waiting) == 1 and len(waiting[0].payload["parts"]) == 19
    assert waiting[0].next_attempt_at > utcnow() + timedelta(seconds=50)
    _pass_time(61)
    assert outbox.sweep() == 1
    assert len(mailbox.messages) == 2
    assert mailbox.text(mailbox.messages[1]).count(f"Rule 0: {ticket.number} changed") == 19


def test_a_merge_is_part_of_the_change_transaction(app, agent, ticket, mailbox):
    _storm_rules(1)
    tickets.update(ticket, {"subject": "First"}, actor=agent)
    tickets.update(ticket, {"subject": "Second"}, actor=agent)
    (waiting,) = _rows("pending")
    before = dict(waiting.payload)
    with pytest.raises(RuntimeError), unit_of_work():
        tickets.update(ticket, {"subject": "Rolled back"}, actor=agent)
        raise RuntimeError("abort")
    db.session.expire_all()
    assert _rows("pending")[0].payload == before  # nothing merged, nothing lost
    assert _rows("merged") == []


@pytest.mark.app_config(HOOKDESK_MAIL_MAX_PER_HOUR=3)
def test_hourly_limit_per_address_holds_letters_visibly(app, agent, admin, client, mailbox):
    customer = customers.create({"name": "Busy", "emails": [ADDRESS]})
    _storm_rules(1)
    for i in range(5):  # five tickets: coalescing is per ticket, the limit per address
        ticket = tickets.create({"subject": f"T{i}", "customer": customer.id}, actor=agent)
        tickets.update(ticket, {"priority": "high"}, actor=agent)
    assert len(mailbox.messages) == 3
    held = _rows("held")
    assert len(held) == 2
    assert all("Held: 3 letters an hour" in r.last_error for r in held)
    assert all(r.next_attempt_at > utcnow() + timedelta(minutes=50) for r in held)
    # Shown to the admin, not silently lost.
    from kernel.services import users
    from web.testing import login

    users.update_preferences(admin, {"locale": "en"}, actor=admin)
    login(client, admin)
    page = client.get("/admin/outbox?status=held", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count("the hourly limit of letters to this address is reached") == 2
    # When the hour has passed they go out by themselves.
    _pass_time(3601)
    assert outbox.sweep() == 2
    assert len(mailbox.messages) == 5


def test_letters_without_a_ticket_are_not_coalesced(app, mailbox):
    from kernel import mail

    for i in range(3):
        mail.put({"to": ADDRESS, "subject": f"Link {i}", "text": "x"}, key=f"plain-{i}")
    assert len(mailbox.messages) == 3


def test_address_matching_ignores_case_and_display_name(app):
    assert letters.address_of("Ivan <Ivan@Example.RU>") == "ivan@example.ru"
    assert letters.address_of("ivan@example.ru") == "ivan@example.ru"


@pytest.mark.app_config(HOOKDESK_MAIL_MAX_PER_HOUR=3, HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_the_hourly_limit_holds_within_one_batch_of_the_worker(app, mailbox):
    """Five letters to one address due at once are one batch for the worker: it
    counts what it sent itself a moment ago, so three go and two are held."""
    from kernel import mail

    later = utcnow() + timedelta(hours=1)
    with unit_of_work():
        for i in range(5):
            mail.put({"to": ADDRESS, "subject": f"Batch {i}", "text": "x"}, key=f"batch-{i}")
        db.session.execute(db.update(OutboxMessage).values(next_attempt_at=later))
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()  # test setup: all five due now
    assert outbox.deliver_due() == 5
    assert len(mailbox.messages) == 3
    assert len(_rows("held")) == 2
