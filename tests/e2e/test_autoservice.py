"""The auto-service journey in a real browser (S3, S4): an operator takes a call
from a customer who already called today, the card suggests "Call continuation"
with its reason, the operator picks "Repair services → Клиент записан", and the
linked Service request appears on the contact's card."""

from __future__ import annotations

import re

from e2e_helpers import log_in

from kernel.db import db
from kernel.models import Ticket


def test_an_operator_turns_a_call_into_a_service_request(page, live_server, shot):
    live = live_server
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева",
                         role="agent")
    with live.db():
        from kernel.models import User
        from kernel.services import customers, tickets

        agent = db.session.get(User, agent_id)
        ivan = customers.create({"name": "Иван Кузнецов", "phones": ["+7 912 000-11-22"]})
        tickets.create({"subject": "Спрашивал цену ТО", "customer": ivan.id}, actor=agent,
                       type="contact")
        ivan_id = ivan.id

    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto("/agent/tickets/new?type=contact")
    page.fill("#customer_phone", "8 (912) 000-11-22")
    page.press("#customer_phone", "Tab")
    offer = page.locator(".agent-match-offer")
    offer.wait_for()
    offer.locator(f'input[name=customer_id][value="{ivan_id}"]').check()
    page.fill("#subject", "Стук в подвеске, хочет записаться")
    page.click('main button[name=action][value=create]')
    page.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    contact_id = int(page.url.rsplit("/", 1)[1])

    suggestion = page.locator('[data-auto-category="continuation"]')
    suggestion.wait_for()
    assert "2-й контакт клиента за сегодня" in suggestion.inner_text()

    panel = page.locator('[data-panel="autoservice.contact"]')
    page.select_option("#as-category", "repair")
    page.select_option("#as-outcome", "repair.booked")
    _scroll_to(page, panel)
    shot(page, "autoservice-contact-suggested", top=False)
    page.click('[data-outcome-form] button[type=submit]')
    page.wait_for_url(re.compile(rf".*/agent/tickets/{contact_id}(#.*)?$"))
    link = page.locator("[data-service-request]")
    link.wait_for()
    number = link.get_attribute("data-service-request")
    assert number.startswith("SR-")
    assert "Клиент записан" in panel.inner_text()
    _scroll_to(page, panel)
    shot(page, "autoservice-contact-card", phone=True, top=False)

    with live.db():
        request = db.session.scalar(db.select(Ticket).where(Ticket.number == number))
        assert request.customer_id == ivan_id and request.status.key == "booked"
    link.click()
    page.wait_for_url(re.compile(r".*/agent/tickets/\d+$"))
    assert page.locator("[data-source-contact]").inner_text().startswith("C-")


def _scroll_to(page, locator) -> None:
    locator.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 72)")
