"""The SMS journey in a real browser (T2, T3): an agent clicks the SMS icon beside
the customer's phone on a ticket, picks a template (the length and parts are
counted as the text changes), sends it; it shows on the card and in the history,
in the development gateway's messages, and its delivery report reaches the card."""

from __future__ import annotations

from e2e_helpers import log_in, log_out

from kernel.db import db
from kernel.services import customers, settings, tickets
from plugins.sms import service
from plugins.sms.models import SmsMessage


def test_an_agent_sends_an_sms_from_the_ticket_card(page, live_server, shot):
    live = live_server
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева",
                         role="agent")
    live.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    with live.db():
        from kernel.models import User

        settings.set("sms.gateway", "dev")
        settings.set("sms.sender", "Hookdesk")
        service.save_template({"name": "Мастер назначен",
                               "body_ru": "Заявка {{ticket.number}}: мастер приедет завтра "
                                          "с 10 до 12. {{customer.name}}, ответьте, если неудобно.",
                               "body_en": "Ticket {{ticket.number}}: the engineer comes "
                                          "tomorrow 10-12."}, None)
        person = customers.create({"name": "Ирина Соколова", "phones": ["+7 912 345-67-89"]})
        agent = db.session.get(User, agent_id)
        ticket = tickets.create({"subject": "Не работает домофон", "customer": person.id},
                                actor=agent)
        ticket_id, number = ticket.id, ticket.number

    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto(f"/agent/tickets/{ticket_id}")
    page.locator(".phone-actions a[href*='sms_to=']").first.click()  # T3: the icon
    page.wait_for_url(f"**/agent/tickets/{ticket_id}?sms_to=*")
    panel = page.locator('[data-panel="sms"]')
    count = panel.locator("[data-sms-count]")
    panel.locator("[data-sms-text]").fill("Hello")
    assert "GSM-7 · 5" in count.inner_text() and "1 част." in count.inner_text()
    panel.locator("[data-sms-template]").select_option(label="Мастер назначен")
    text = panel.locator("[data-sms-text]").input_value()
    assert text.startswith(f"Заявка {number}: мастер") and "Ирина Соколова" in text
    assert "UCS-2" in count.inner_text() and count.get_attribute("data-parts") == "2"
    panel.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 76)")
    shot(page, "sms-ticket-card", top=False, phone=True)
    panel.locator("[data-sms-submit]").click()
    page.wait_for_url(f"**/agent/tickets/{ticket_id}*")
    assert "поставлено в очередь" in page.inner_text("main")
    assert "мастер приедет завтра" in page.locator('[data-panel="sms"] .sms-list').inner_text()
    assert "SMS отправлено" in page.locator("#history").inner_text()
    with live.db():
        [message] = db.session.scalars(db.select(SmsMessage)).all()
        assert message.status == "sent" and message.phone == "+79123456789"
    log_out(page)

    log_in(page, "admin@example.com", "admin-pass-1")
    page.goto("/admin/sms/dev")
    row = page.locator("[data-dev-sms]").first
    assert "+79123456789" in row.inner_text() and "мастер приедет завтра" in row.inner_text()
    shot(page, "sms-dev-gateway", full_page=False)
    row.locator("button[value=delivered]").click()
    page.wait_for_url("**/admin/sms/dev")
    page.goto(f"/agent/tickets/{ticket_id}")
    assert "SMS доставлено" in page.locator("#history").inner_text()
    assert "Доставлено" in page.locator('[data-panel="sms"] .sms-list').inner_text()
