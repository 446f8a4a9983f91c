"""Journeys of the customer cabinet in a real browser (P3-P6): a new ticket with
files, the agent's reply seen on the card and received by e-mail; the list's
filters, search, sorting and pages."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from e2e_helpers import letter, log_in

from kernel.db import get_by_id
from kernel.models import User
from kernel.services import messages, queries, tickets, users

DRAWING = b"Floor plan, room 2: crack on the north wall, 40 cm.\n"
# A valid 1x1 PNG.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2263a"
    "3a0000000049454e44ae426082"
)


def _enabled(live, plugin: str) -> bool:
    return plugin in live.app.extensions["hookdesk"].infos


def _count(live, email: str) -> int:
    """How many tickets the customer with this e-mail has."""
    with live.db():
        buyer = users.by_email(email)
        return queries.list_tickets(buyer, queries.TicketFilter(), per_page=1).total


def test_new_ticket_with_files_agent_replies_customer_sees_it_and_gets_mail(
        page, browser, live_server, shot):
    live = live_server
    live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева", role="agent")
    live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    live.user("other@example.com", "other-pass-1", name="Чужой покупатель")

    log_in(page, "buyer@example.com", "buyer-pass-1")
    assert page.url.endswith("/portal/")
    shot(page, "portal-empty")
    page.click('main a[href$="/portal/new"]')
    page.wait_for_url("**/portal/new*")
    if page.locator("main a.type-choice__item").count():  # other plugins add types
        page.click('main a.type-choice__item[href$="type=request"]')
        page.wait_for_url("**/portal/new?type=request")

    # Sent empty: the required subject is marked beside the field, nothing is created.
    page.click('main form button[type=submit].btn--primary')
    assert page.locator('[data-field="subject"] .field-error').is_visible()
    assert _count(live, "buyer@example.com") == 0
    page.goto("/portal/new?type=request")

    page.fill("#subject", "Трещина в стене спальни")
    page.fill("#text", "После отопительного сезона появилась трещина на северной стене.")
    page.select_option("#queue", "technical")
    page.fill("#contract_number", "Д-2024/117")
    page.fill("#contact_name", "Ирина Соколова")
    page.fill("#contact_phone", "+7 912 345-67-89")
    page.set_input_files("#portal_files", [
        {"name": "plan.txt", "mimeType": "text/plain", "buffer": DRAWING},
        {"name": "photo.png", "mimeType": "image/png", "buffer": PHOTO},
    ])
    shot(page, "portal-new-ticket", phone=True, full_page=True)
    page.click('main form button[type=submit].btn--primary')
    page.wait_for_url(re.compile(r".*/portal/tickets/\d+$"))
    ticket_url = page.url
    ticket_id = int(ticket_url.rsplit("/", 1)[1])
    number = page.inner_text(".ticket-meta .ticket-number").strip()
    assert number and number in page.inner_text(".flashes")
    assert "Трещина в стене спальни" in page.inner_text("h1")
    assert page.locator("main a", has_text="plan.txt").count() == 1
    assert page.locator("main a", has_text="photo.png").count() == 1
    # The file is served to its owner, byte for byte.
    href = page.locator("main a", has_text="plan.txt").first.get_attribute("href")
    assert page.request.get(href).body() == DRAWING
    with live.db():
        stored = tickets.require_ticket(ticket_id, None)
        assert (stored.subject, stored.queue) == ("Трещина в стене спальни", "technical")
        assert stored.value("contract_number") == "Д-2024/117"
    assert _count(live, "buyer@example.com") == 1

    # Another customer can neither open the ticket nor its file: 404.
    stranger = browser.new_context(base_url=live.url)
    try:
        other = stranger.new_page()
        log_in(other, "other@example.com", "other-pass-1")
        assert other.goto(ticket_url).status == 404
        assert other.request.get(live.url + href).status == 404
        other.goto("/portal/")
        assert number not in other.inner_text("main")
    finally:
        stranger.close()

    # The agent finds it in the table, opens it and replies.
    staff = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 800},
                                locale="ru-RU")
    try:
        desk = staff.new_page()
        log_in(desk, "agent@example.com", "agent-pass-1")
        assert desk.url.endswith("/agent/")
        desk.click(f"main a:has-text('{number}')")
        desk.wait_for_url(f"**/agent/tickets/{ticket_id}")
        assert desk.locator("main a", has_text="plan.txt").count() >= 1
        reply = "Здравствуйте! Мастер приедет в четверг с 10 до 12. Фото получили."
        desk.fill("form.agent-reply textarea[name=body]", reply)
        shot(desk, "agent-ticket")
        desk.click('form.agent-reply button[name=internal][value="0"]')
        desk.wait_for_load_state()
        assert desk.locator(".flashes").is_visible()
        assert reply in desk.inner_text("main")
    finally:
        staff.close()

    # The customer sees the reply on the card...
    page.goto(ticket_url)
    thread = page.inner_text("#thread")
    assert reply in thread and "Светлана Агеева" in thread
    shot(page, "portal-ticket", phone=True)

    # ...and got it by e-mail, with a link back to the card.
    if not _enabled(live, "notifications"):
        pytest.skip("the notifications plugin (customer e-mails, P6) is not installed yet")
    created = letter(live.mailbox, "buyer@example.com")
    assert number in created["Subject"], "the first letter confirms the new ticket"
    found = None
    for n in range(1, 5):
        message = letter(live.mailbox, "buyer@example.com", count=n)
        if reply in live.mailbox.text(message):
            found = message
            break
    assert found is not None, "no letter with the agent's reply"
    assert number in found["Subject"]
    assert [u for u in live.mailbox.links(found) if "/portal/" in u], live.mailbox.text(found)

    # The customer answers on the card.
    page.goto(ticket_url)
    page.fill("form[action$='/reply'] textarea", "Спасибо, в четверг буду дома.")
    page.click("form[action$='/reply'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/tickets/\d+"))
    assert "Спасибо, в четверг буду дома." in page.inner_text("#thread")


def test_link_in_the_reply_letter_opens_the_ticket_card(page, live_server):
    live = live_server
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Агент", role="agent")
    live.user("buyer@example.com", "buyer-pass-1", name="Покупатель")
    if not _enabled(live, "notifications"):
        pytest.skip("the notifications plugin (customer e-mails, P6) is not installed")
    with live.db():
        ticket = tickets.create({"subject": "Нет горячей воды"},
                                actor=users.by_email("buyer@example.com"))
        ticket_id = ticket.id
        messages.post(ticket, "Воду включат к вечеру.", actor=get_by_id(User, agent_id))
    log_in(page, "buyer@example.com", "buyer-pass-1")
    for n in range(1, 4):
        message = letter(live.mailbox, "buyer@example.com", count=n)
        if "Воду включат к вечеру." in live.mailbox.text(message):
            break
    links = [u for u in live.mailbox.links(message) if "/portal/" in u]
    assert links, live.mailbox.text(message)
    response = page.goto(live.path(links[0]))
    assert response.status == 200, f"{links[0]} does not open /portal/tickets/{ticket_id}"
    assert "Воду включат к вечеру." in page.inner_text("#thread")


def _make_tickets(live, email: str) -> dict[str, str]:
    """12 tickets of the customer (3 closed), one of another customer; subjects
    to search for. Returns {subject: number}."""
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Агент", role="agent")
    live.user(email, "buyer-pass-1", name="Покупатель")
    live.user("other@example.com", "other-pass-1", name="Другой")
    numbers = {}
    with live.db():
        buyer = users.by_email(email)
        agent = get_by_id(User, agent_id)
        for n in range(1, 13):
            subject = f"Заявка {n:02d}" + (" про счёт" if n in (4, 9) else "")
            ticket = tickets.create({"subject": subject, "text": "Подробности."}, actor=buyer)
            numbers[subject] = ticket.number
            if n in (2, 5, 7):
                tickets.transition(ticket, "resolved", actor=agent)
        other = users.by_email("other@example.com")
        tickets.create({"subject": "Чужая заявка про счёт"}, actor=other)
    return numbers


def test_ticket_list_filters_search_sorting_and_pages(page, live_server, shot):
    live = live_server
    numbers = _make_tickets(live, "buyer@example.com")
    log_in(page, "buyer@example.com", "buyer-pass-1")
    assert page.url.endswith("/portal/")
    tabs = page.locator("nav.tabs")
    assert re.search(r"12", tabs.locator("a").nth(0).inner_text())
    assert re.search(r"9", tabs.locator("a").nth(1).inner_text())
    assert re.search(r"3", tabs.locator("a").nth(2).inner_text())
    # Page size is the user's setting (20 by default): all 12 on one page, newest first.
    rows = page.locator("table tbody tr")
    assert rows.count() == 12
    assert "Чужая заявка" not in page.inner_text("main")
    assert page.locator("table tbody tr").first.inner_text().count("Заявка 12") == 1
    shot(page, "portal-list", phone=True)

    # Closed only.
    tabs.locator("a").nth(2).click()
    page.wait_for_url("**state=closed*")
    text = page.inner_text("table tbody")
    assert rows.count() == 3
    for n in (2, 5, 7):
        assert f"Заявка {n:02d}" in text

    # Search by a word of the subject (within the chosen tab, then all).
    tabs.locator("a").nth(0).click()
    page.fill("#portal-q", "счёт")
    page.press("#portal-q", "Enter")
    page.wait_for_url("**q=*")
    assert rows.count() == 2
    assert "Чужая" not in page.inner_text("main")
    # By number.
    page.fill("#portal-q", numbers["Заявка 07"])
    page.press("#portal-q", "Enter")
    page.wait_for_load_state()
    assert rows.count() == 1 and "Заявка 07" in page.inner_text("table tbody")
    # By date, typed the Russian way.
    today = datetime.now(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y")
    page.fill("#portal-q", today)
    page.press("#portal-q", "Enter")
    page.wait_for_load_state()
    assert rows.count() == 12
    # Nothing found: an empty state, not an empty table.
    page.fill("#portal-q", "несуществующее")
    page.press("#portal-q", "Enter")
    page.wait_for_load_state()
    assert rows.count() == 0
    assert page.locator(".empty-state, .empty").count() >= 1

    # Sorting by number: ascending, then descending.
    page.goto("/portal/")
    page.click("thead a.sort-link:has-text('Номер')")
    page.wait_for_url("**sort=number*")
    first = page.locator("table tbody tr").first.inner_text()
    assert numbers["Заявка 01"] in first
    page.click("thead a.sort-link:has-text('Номер')")
    page.wait_for_url("**sort=-number*")
    assert numbers["Заявка 12"] in page.locator("table tbody tr").first.inner_text()

    # Page size 10 (Settings): two pages.
    with live.db():
        buyer = users.by_email("buyer@example.com")
        users.update_preferences(buyer, {"page_size": 10}, actor=buyer)
    page.goto("/portal/")
    assert rows.count() == 10
    page.click(".pagination a[rel=next]")
    page.wait_for_url("**page=2*")
    assert rows.count() == 2

    # The same list in English.
    page.goto("/portal/")
    page.click('.lang-switch button[value="en"]')
    page.wait_for_load_state()
    assert page.inner_text("h1") == "My tickets"
    shot(page, "portal-list-en")
