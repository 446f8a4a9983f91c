"""Who is told what (P6, A5): customers on created / status changed / public
reply, in their language, with a link to the card; employees on the events
they chose. Letters arrive over real SMTP on loopback."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from kernel.db import db, utcnow
from kernel.mail import message_id_for
from kernel.models import OutboxMessage, TicketEvent
from kernel.services import messages, settings, tickets
from kernel.services.uow import unit_of_work
from plugins.notifications import service
from plugins.notifications.models import Preference
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk", "notifications")


def outbox_rows():
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_the_customer_hears_of_a_new_ticket_in_their_language(app, mailbox, english_buyer):
    ticket = tickets.create({"subject": "Leaking tap"}, actor=english_buyer)
    (message,) = mailbox.wait(1)
    assert mailbox.envelopes[0][1] == ["ann@buyer.example"]
    assert message["Subject"] == f"Ticket {ticket.number} received: Leaking tap"
    assert message["Content-Language"] == "en"
    base = app.config["HOOKDESK_BASE_URL"].rstrip("/")
    # By number, as the integrator's guide says (the portal opens the card from it).
    assert f"{base}/portal/tickets/{ticket.number}" in mailbox.links(message)
    assert "Open the ticket" in mailbox.html(message)
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    key = f"notify-{event.id}-ann@buyer.example"
    assert message["Message-ID"].strip() == message_id_for(key, f"ticket:{ticket.id}")
    (row,) = outbox_rows()
    assert (row.key, row.status, row.ref) == (key, "sent", f"ticket:{ticket.id}")


def test_a_customer_without_an_account_gets_it_at_every_address_in_the_default_language(
        app, mailbox, agent, mail_only_customer):
    ticket = tickets.create({"subject": "Окно не закрывается",
                             "customer": mail_only_customer.id}, actor=agent)
    messages_ = mailbox.wait(2)
    assert sorted(r for _f, rcpts in mailbox.envelopes for r in rcpts) == [
        "office@mail.example", "petr@mail.example"]
    for message in messages_:
        assert message["Subject"] == f"Заявка {ticket.number} принята: Окно не закрывается"
        assert "Здравствуйте, Пётр Иванов!" in mailbox.text(message)
        assert message["Content-Language"] == "ru"
    assert len({m["Message-ID"] for m in messages_}) == 2


# Each letter on its own, at once: coalescing within a minute is off here (it is
# tested in tests/security/test_rule_storms.py).
@pytest.mark.app_config(HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_status_changes_and_public_replies_are_told_internal_notes_are_not(
        app, mailbox, agent, english_buyer):
    ticket = tickets.create({"subject": "Door", "customer": english_buyer.customer_id},
                            actor=agent)
    mailbox.wait(1)
    messages.post(ticket, "Checking with the builder", actor=agent, internal=True)
    messages.post(ticket, "The master comes on Monday.", actor=agent)
    reply = mailbox.wait(2)[-1]
    assert len(mailbox.messages) == 2
    assert reply["Subject"] == f"Reply on ticket {ticket.number}: Door"
    assert "The master comes on Monday." in mailbox.text(reply)
    assert "Checking with the builder" not in mailbox.text(reply) + mailbox.html(reply)
    assert "Agent replied" in mailbox.text(reply)
    target = ticket.type.pipeline.next_statuses(ticket.status)[0]
    tickets.transition(ticket, target.key, actor=agent, comment="Parts ordered",
                       comment_visible_to_customer=True)
    changed = mailbox.wait(3)[-1]
    assert changed["Subject"] == f"Ticket {ticket.number}: {target.name}"
    assert "Comment: Parts ordered" in mailbox.text(changed)
    assert target.name in mailbox.html(changed)
    # A comment not meant for the customer is the agents' working note: not told.
    back = ticket.type.pipeline.next_statuses(ticket.status)[0]
    tickets.transition(ticket, back.key, actor=agent, comment="Builder is slow, push him")
    quiet = mailbox.wait(4)[-1]
    assert quiet["Subject"] == f"Ticket {ticket.number}: {back.name}"
    assert "Builder is slow" not in mailbox.text(quiet) + mailbox.html(quiet)


def test_the_customers_own_reply_is_not_sent_back_to_them(app, mailbox, english_buyer, agent):
    ticket = tickets.create({"subject": "Mine"}, actor=english_buyer)
    mailbox.wait(1)
    messages.post(ticket, "One more detail", actor=english_buyer)
    assert len(mailbox.messages) == 1


def test_a_rolled_back_change_writes_and_sends_nothing(app, mailbox, agent, english_buyer):
    with pytest.raises(RuntimeError), unit_of_work():
        tickets.create({"subject": "Never", "customer": english_buyer.customer_id}, actor=agent)
        assert len(outbox_rows()) == 1  # written in the same transaction...
        raise RuntimeError("the change fails")
    assert outbox_rows() == []  # ...and gone with it
    assert mailbox.messages == []


def test_one_event_never_makes_two_letters(app, mailbox, agent, english_buyer):
    ticket = tickets.create({"subject": "Once", "customer": english_buyer.customer_id},
                            actor=agent)
    mailbox.wait(1)
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    with unit_of_work():
        service.on_event(event, ticket)  # the hook runs again for the same event
    assert len(outbox_rows()) == 1 and len(mailbox.messages) == 1


def test_the_deployment_can_turn_customer_letters_off(app, mailbox, admin, english_buyer):
    settings.set(service.SETTING_CUSTOMERS, False, actor=admin)
    tickets.create({"subject": "Quiet"}, actor=english_buyer)
    assert outbox_rows() == []


# -- employees ------------------------------------------------------------------------


def test_the_assignee_hears_of_assignment_but_not_of_their_own(app, mailbox, agent, colleague):
    ticket = tickets.create({"subject": "Mine"}, actor=agent)  # assigned to the creator
    assert outbox_rows() == []
    tickets.assign(ticket, colleague, actor=agent)
    (message,) = mailbox.wait(1)
    assert mailbox.envelopes[0][1] == ["colleague@test.example"]
    assert message["Subject"] == f"Ticket {ticket.number} is assigned to you: Mine"
    assert f"/agent/tickets/{ticket.id}" in mailbox.text(message)
    created = tickets.create({"subject": "For you", "assignee": colleague.id}, actor=agent)
    assert mailbox.wait(2)[-1]["Subject"].startswith(f"Ticket {created.number} is assigned")


def test_the_assignee_hears_the_customer_reply(app, mailbox, agent, english_buyer):
    ticket = tickets.create({"subject": "Gate", "customer": english_buyer.customer_id},
                            actor=agent)
    mailbox.wait(1)
    messages.post(ticket, "Still broken, please hurry", actor=english_buyer)
    message = mailbox.wait(2)[-1]
    assert mailbox.envelopes[-1][1] == ["agent@test.example"]
    assert message["Subject"] == f"Сообщение клиента: {ticket.number} Gate"  # the agent's locale
    assert "Still broken, please hurry" in mailbox.text(message)
    # Russian wording that assumes no gender (not «<name> написал»)
    assert "Новое сообщение от " in mailbox.text(message)
    assert "написал" not in mailbox.text(message) and "написал" not in mailbox.html(message)


def test_an_agent_who_turned_an_event_off_is_not_told(app, mailbox, agent, colleague,
                                                      english_buyer):
    service.save_preferences(colleague, {("assigned", "email"): False,
                                         ("customer_replied", "email"): False}, actor=colleague)
    ticket = tickets.create({"subject": "Silent", "customer": english_buyer.customer_id},
                            actor=agent)
    tickets.assign(ticket, colleague, actor=agent)
    messages.post(ticket, "Hello?", actor=english_buyer)
    assert [r for _f, rcpts in mailbox.envelopes for r in rcpts] == ["ann@buyer.example"]


def test_followers_of_a_queue_hear_of_new_tickets_there(app, mailbox, agent, colleague):
    assert service.preferences(colleague)[("new_ticket:technical", "email")] is False
    service.save_preferences(colleague, {("new_ticket:technical", "email"): True},
                             actor=colleague)
    tickets.create({"subject": "Elsewhere", "queue": "billing"}, actor=agent)
    ticket = tickets.create({"subject": "Server down", "queue": "technical"}, actor=agent)
    (message,) = mailbox.wait(1)
    assert message["Subject"] == f"New ticket {ticket.number}: Server down"


def test_preferences_are_checked(app, agent, colleague, customer_user):
    from kernel.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="own"):
        service.save_preferences(colleague, {("assigned", "email"): False}, actor=agent)
    with pytest.raises(ValidationFailed):
        service.save_preferences(agent, {("nonsense", "email"): True}, actor=agent)
    with pytest.raises(ValidationFailed):
        service.save_preferences(agent, {("assigned", "pigeon"): True}, actor=agent)
    with pytest.raises(ValidationFailed, match="employees"):
        service.save_preferences(customer_user, {}, actor=customer_user)
    assert db.session.scalars(select(Preference)).all() == []


# Each letter on its own, at once: coalescing within a minute is off here (it is
# tested in tests/security/test_rule_storms.py).
@pytest.mark.app_config(HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_the_manager_hears_once_that_the_deadline_passed(app, mailbox, agent, colleague):
    ticket = tickets.create({"subject": "Late", "assignee": colleague.id,
                             "deadline": (utcnow() + timedelta(hours=1)).isoformat()},
                            actor=agent)
    mailbox.wait(1)  # the assignment
    assert service.scan_deadlines() == 0
    later = utcnow() + timedelta(hours=2)
    assert service.scan_deadlines(now=later) == 1
    message = mailbox.wait(2)[-1]
    assert message["Subject"] == f"Deadline passed: {ticket.number} Late"
    assert service.scan_deadlines(now=later) == 0  # once per ticket and deadline
    assert service.scan_deadlines(now=later + timedelta(hours=1)) == 0
    tickets.update(ticket, {"deadline": (utcnow() + timedelta(hours=3)).isoformat()},
                   actor=agent)
    assert service.scan_deadlines(now=utcnow() + timedelta(hours=4)) == 1  # a new deadline
    assert len(mailbox.wait(3)) == 3
    assert "notifications.deadline_scan" in app.extensions["hookdesk_jobs"]["tasks"]


# -- the settings page -----------------------------------------------------------------


def test_an_agent_chooses_the_events_on_the_settings_page(app, client, colleague):
    login(client, colleague)
    page = client.get("/settings/notifications/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "A ticket is assigned to me" in html and "Technical problem" in html
    assert 'href="/settings/notifications/"' in html  # the menu entry
    assert 'name="n__assigned__email" type="checkbox" value="y" checked' in html or \
        ('name="n__assigned__email"' in html and "checked" in html)
    answer = client.post("/settings/notifications/", data={
        "n__customer_replied__email": "y", "n__deadline_passed__email": "y",
        "n__new_ticket__billing__email": "y"})
    assert answer.status_code == 303
    prefs = service.preferences(colleague)
    assert prefs[("assigned", "email")] is False
    assert prefs[("new_ticket:billing", "email")] is True
    assert prefs[("customer_replied", "email")] is True
    follow = client.get("/settings/notifications/")
    assert "Your notification settings are saved." in follow.get_data(as_text=True)


def test_the_page_speaks_russian_and_refuses_customers_and_forged_posts(app, client, agent,
                                                                         customer_user):
    login(client, agent)
    html = client.get("/settings/notifications/").get_data(as_text=True)
    assert "Мне назначена заявка" in html and "Очереди, за которыми я слежу" in html
    assert client.post("/settings/notifications/", data={}, csrf=False).status_code == 400
    assert db.session.scalars(select(Preference)).all() == []
    other = app.test_client()
    login(other, customer_user)
    assert other.get("/settings/notifications/").status_code in (403, 404)
