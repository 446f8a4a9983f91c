"""Journeys of the agent workspace in a real browser (A1, A2, A4): the ticket
table, a ticket created by hand whose phone matches an existing customer, a new
customer with several phones, and moves on the pipeline board."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from e2e_helpers import log_in

from kernel.db import get_by_id, utcnow
from kernel.models import Ticket, User
from kernel.services import customers, tickets


def _agent(live) -> int:
    return live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева", role="agent")


def _customer(live, agent_id: int, name: str, *phones: str) -> int:
    with live.db():
        agent = get_by_id(User, agent_id)
        return customers.create({"name": name, "phones": list(phones)}, actor=agent).id


def _ticket(live, ticket_id: int) -> dict:
    with live.db():
        ticket = get_by_id(Ticket, ticket_id)
        return {"customer_id": ticket.customer_id, "status": ticket.status.key,
                "subject": ticket.subject, "urgent": ticket.urgent,
                "assignee_id": ticket.assignee_id}


def test_ticket_by_hand_linked_to_the_customer_whose_phone_matches(page, live_server, shot):
    live = live_server
    agent_id = _agent(live)
    ivan = _customer(live, agent_id, "Иван Кузнецов", "+7 912 000-11-22")
    _customer(live, agent_id, "Пётр Иванов", "+7 495 111-22-33")
    log_in(page, "agent@example.com", "agent-pass-1")
    assert page.url.endswith("/agent/")
    page.click('main a[href$="/agent/tickets/new"]')
    page.wait_for_url("**/agent/tickets/new*")

    page.fill("#customer_name", "Иван")
    # Typed another way than it was stored: still the same number.
    page.fill("#customer_phone", "8 (912) 000-11-22")
    page.press("#customer_phone", "Tab")
    offer = page.locator(".agent-match-offer")
    offer.wait_for()
    assert "Иван Кузнецов" in offer.inner_text()
    assert "Пётр Иванов" not in offer.inner_text()
    offer.locator(f'input[name=customer_id][value="{ivan}"]').check()

    page.fill("#subject", "Не работает домофон")
    page.fill("#text", "Звонил в 10:15, домофон в подъезде 2 не открывает дверь.")
    page.select_option("#queue", "technical")
    page.check("#urgent")
    # The manager defaults to the creator (seed 001).
    assert page.input_value("#manager") == str(agent_id)
    shot(page, "agent-new-ticket", full_page=True)
    page.click('main button[name=action][value=create]')
    page.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    ticket_id = int(page.url.rsplit("/", 1)[1])
    assert "Иван Кузнецов" in page.inner_text("main")
    saved = _ticket(live, ticket_id)
    assert saved["customer_id"] == ivan
    assert (saved["subject"], saved["urgent"], saved["assignee_id"]) == (
        "Не работает домофон", True, agent_id)

    # The table shows it, with the "Urgent" counter.
    page.goto("/agent/")
    row = page.locator("table tbody tr", has_text="Не работает домофон")
    assert row.count() == 1
    shot(page, "agent-tickets", phone=True)


def test_ticket_by_hand_adds_a_new_customer_with_several_phones(page, live_server):
    live = live_server
    agent_id = _agent(live)
    _customer(live, agent_id, "Иван Кузнецов", "+7 912 000-11-22")
    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto("/agent/tickets/new")
    page.fill("#customer_name", "Мария Лебедева")
    page.fill("#customer_phone", "+7 903 555-44-33")
    page.press("#customer_phone", "Tab")
    page.wait_for_load_state("networkidle")
    assert page.locator(".agent-match-offer").count() == 0, "no customer has this phone"
    page.click(".agent-add-customer summary")
    page.check("#add_customer")
    page.fill("#more_phones", "8 (812) 222-33-44\n+7 999 000 00 01")
    page.fill("#subject", "Консультация по тарифу")
    page.click('main button[name=action][value=create]')
    page.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    ticket_id = int(page.url.rsplit("/", 1)[1])
    with live.db():
        agent = get_by_id(User, agent_id)
        (found,) = customers.find_by_phone("+7 812 222-33-44", viewer=agent)
        assert found.name == "Мария Лебедева"
        assert len(found.phones) == 3
        maria = found.id
    assert _ticket(live, ticket_id)["customer_id"] == maria

    # A bad phone among the extra ones is refused beside the field; nothing is written.
    page.goto("/agent/tickets/new")
    page.fill("#customer_name", "Никто")
    page.fill("#customer_phone", "+7 903 555-00-00")
    page.click(".agent-add-customer summary")
    page.check("#add_customer")
    page.fill("#more_phones", "not a phone")
    page.fill("#subject", "Не должна появиться")
    page.click('main button[name=action][value=create]')
    page.wait_for_load_state()
    assert page.locator('[data-field="more_phones"] .field-error').is_visible()
    with live.db():
        agent = get_by_id(User, agent_id)
        assert customers.find_by_phone("+7 903 555-00-00", viewer=agent) == []


def _board_column(page, ticket_id: int) -> str:
    card = page.locator(f'.agent-card[data-ticket-id="{ticket_id}"]')
    return card.evaluate("el => el.closest('[data-status]').getAttribute('data-status')")


def test_board_moves_a_ticket_by_drag_and_drop_and_by_menu(page, live_server, shot):
    live = live_server
    agent_id = _agent(live)
    customer_id = _customer(live, agent_id, "Иван Кузнецов", "+7 912 000-11-22")
    with live.db():
        agent = get_by_id(User, agent_id)
        ids = []
        for n, subject in enumerate(["Счёт за ноябрь", "Ошибка входа", "Смена тарифа",
                                     "Возврат оплаты"]):
            ticket = tickets.create({"subject": subject, "customer": customer_id,
                                     "deadline": (utcnow() + timedelta(days=n - 1)).isoformat()},
                                    actor=agent)
            ids.append(ticket.id)
        tickets.transition(get_by_id(Ticket, ids[2]), "in_progress", actor=agent)
        tickets.transition(get_by_id(Ticket, ids[3]), "resolved", actor=agent)
    first = ids[0]

    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto("/agent/board")
    assert _board_column(page, first) == "new"
    assert not page.locator("[data-board-message]").is_visible(), "no error line before an error"
    shot(page, "agent-board")

    # Drag "new" -> "in progress": moved on the page and in the database.
    page.drag_and_drop(f'.agent-card[data-ticket-id="{first}"]',
                       'section[data-status="in_progress"] [data-drop]')
    page.wait_for_function(
        f"""() => document.querySelector('.agent-card[data-ticket-id="{first}"]')
                 .closest('[data-status]').dataset.status === 'in_progress'""")
    assert _ticket(live, first)["status"] == "in_progress"
    assert page.locator('section[data-status="in_progress"] [data-count]').inner_text() == "2"

    # A move the pipeline forbids ("in progress" -> "new"): refused, the card stays.
    page.drag_and_drop(f'.agent-card[data-ticket-id="{first}"]',
                       'section[data-status="new"] [data-drop]')
    message = page.locator("[data-board-message]")
    message.wait_for()
    assert message.inner_text().strip()
    assert _board_column(page, first) == "in_progress"
    assert _ticket(live, first)["status"] == "in_progress"

    # Without dragging: the card's "Move to" menu.
    page.reload()
    card = page.locator(f'.agent-card[data-ticket-id="{first}"]')
    card.locator("select").select_option("resolved")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert _board_column(page, first) == "resolved"
    assert _ticket(live, first)["status"] == "resolved"

    # The same board in English.
    page.click('.lang-switch button[value="en"]')
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator('section[data-status="in_progress"] h2').inner_text() == "In progress"
    shot(page, "agent-board-en")


def test_agent_chooses_which_events_notify_them(page, live_server, shot):
    live = live_server
    _agent(live)
    log_in(page, "agent@example.com", "agent-pass-1")
    if "notifications" not in live.app.extensions["hookdesk"].infos:
        pytest.skip("the notifications plugin (A5) is not installed")
    page.click('nav#primary-nav a[href*="/settings/notifications"]')
    page.wait_for_url("**/settings/notifications/")
    boxes = page.locator("main form input[type=checkbox]")
    assert boxes.count() >= 2
    target = boxes.nth(0)
    name = target.get_attribute("name")
    was = target.is_checked()
    target.set_checked(not was)
    shot(page, "agent-notifications")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/notifications/")
    assert page.locator(".flash--success").is_visible()
    assert page.locator(f'main form input[name="{name}"]').is_checked() is (not was)
