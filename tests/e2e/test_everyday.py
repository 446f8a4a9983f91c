"""Everyday stumbles of issue 16, in a real browser: the agent's transition
comment the customer may or may not see, "+ Add customer" that never drops what
was typed, columns each agent chooses, dates in the reader's language, pages
that fit at 390 and 1440 px; the customer's form that starts from the account,
the letter's link by number, and files that open in place or download."""

from __future__ import annotations

from e2e_helpers import letter, log_in, log_out

from kernel.db import db
from kernel.models import User
from kernel.services import customers, tickets

WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2263a"
    "3a0000000049454e44ae426082"
)


def overflow(page, paths: list[str]) -> dict[str, int]:
    """``{path: scrollWidth}`` of the pages wider than the window."""
    wide = {}
    for path in paths:
        page.goto(path)
        width, inner = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            wide[path] = width
    return wide


def test_agent_comment_visibility_add_customer_columns_dates_and_widths(page, live_server,
                                                                      shot):
    live = live_server
    live.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    buyer_id = live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    with live.db():
        buyer = db.session.get(User, buyer_id)
        ticket = tickets.create({"subject": "Не закрывается окно"}, actor=buyer)
        ticket_id, number = ticket.id, ticket.number
        customers.create({"name": "Иван Петров", "phones": ["+7 912 345-67-89"]})

    log_in(page, "admin@example.com", "admin-pass-1")
    page.set_viewport_size(WIDE)

    # 1. The comment is a working note unless the agent ticks the box.
    page.goto(f"/agent/tickets/{ticket_id}")
    assert not page.is_checked("#status-comment-public")
    page.select_option("#status-to", "in_progress")
    page.fill("#status-comment", "Рабочая: позвонить мастеру")
    page.click('form[action$="/status"] button[type=submit]')
    page.wait_for_load_state()
    page.select_option("#status-to", "waiting")
    page.fill("#status-comment", "Ждём запчасть до пятницы")
    page.check("#status-comment-public")
    page.click('form[action$="/status"] button[type=submit]')
    page.wait_for_load_state()
    history = page.inner_text("#history")
    assert "Рабочая заметка" in history and "Видит клиент" in history

    # 2. "+ Add customer": more phones without ticking "add" are refused, kept in the form.
    page.goto("/agent/tickets/new?type=request")
    page.fill("#customer_name", "Мария Сидорова")
    page.fill("#customer_phone", "+7 900 111-22-33")
    page.click(".agent-add-customer summary")
    page.fill("#more_phones", "абв")
    page.fill("#subject", "Счёт")
    page.click('button[name=action][value=create]')
    page.wait_for_load_state()
    assert "Добавить клиента в базу" in page.inner_text("#more_phones-error")
    assert page.input_value("#more_phones") == "абв"
    # A second customer with Ivan's phone: warned, Ivan offered.
    page.fill("#customer_phone", "+7 912 345-67-89")
    page.fill("#more_phones", "")
    page.check("#add_customer")
    page.click('button[name=action][value=create]')
    page.wait_for_load_state()
    assert "уже есть у другого клиента" in page.inner_text("#customer_phone-error")
    assert page.locator(".agent-match-offer", has_text="Иван Петров").is_visible()

    # 5. At 1440 px every default column is on screen, not scrolled off in the table.
    page.goto("/agent/?state=all")
    hidden = page.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                           " return w.scrollWidth - w.clientWidth; })()")
    widths = page.evaluate("[...document.querySelectorAll('.agent-table th')]"
                           ".map(th => th.innerText.trim() + ':' + th.offsetWidth)")
    assert hidden <= 0, f"the table is {hidden}px wider than the page: {widths}"

    # 7. Dates in Russian: ДД.ММ.ГГГГ, read by the server.
    date_input = page.locator("#created_from")
    assert date_input.get_attribute("type") == "text"
    assert date_input.get_attribute("placeholder") == "ДД.ММ.ГГГГ"

    # 5. Columns: the agent keeps only "Manager" and "Created" stays; saved for them.
    page.click(".agent-columns summary")
    boxes = page.locator('.agent-columns input[name="column"]')
    keys = [boxes.nth(i).get_attribute("value") for i in range(boxes.count())]
    assert "assignee" in keys
    for key in keys:
        (page.check if key == "assignee" else page.uncheck)(
            f'.agent-columns input[name="column"][value="{key}"]')
    page.click('.agent-columns button[value=save]')
    page.wait_for_load_state()
    row = page.locator(f'tr[data-ticket="{number}"]')
    assert [row.locator("[data-column]").nth(i).get_attribute("data-column")
            for i in range(row.locator("[data-column]").count())] == ["assignee"]
    shot(page, "agent-columns")

    pages = ["/agent/?state=all", "/agent/tickets/new", f"/agent/tickets/{ticket_id}",
             "/admin/users/", "/admin/"]
    assert overflow(page, pages) == {}
    page.set_viewport_size(PHONE)
    assert overflow(page, pages) == {}
    page.set_viewport_size(WIDE)
    log_out(page)

    # 1 (the customer's side): only the comment meant for them.
    log_in(page, "buyer@example.com", "buyer-pass-1")
    page.goto(f"/portal/tickets/{ticket_id}")
    card = page.inner_text("main")
    assert "Ждём запчасть до пятницы" in card and "позвонить мастеру" not in card


def test_customer_prefill_letter_link_by_number_and_files(page, live_server, shot, tmp_path):
    live = live_server
    buyer_id = live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    with live.db():
        buyer = db.session.get(User, buyer_id)
        customers.update(buyer.customer, {"phones": ["+7 912 345-67-89"]})

    log_in(page, "buyer@example.com", "buyer-pass-1")
    page.set_viewport_size(PHONE)
    # 5. Every creation form fits a phone (the warranty claim's too).
    page.goto("/portal/new")
    forms = [a.get_attribute("href") for a in page.locator("main a.type-choice__item").all()]
    assert overflow(page, forms or ["/portal/new"]) == {}
    page.goto("/portal/new?type=request")
    # 6. What the account knows is already there.
    assert page.input_value("#contact_name") == "Ирина Соколова"
    assert page.input_value("#contact_phone") == "+7 912 345-67-89"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    page.fill("#subject", "Течёт кран")
    photo, act = tmp_path / "кран.png", tmp_path / "акт приёмки.docx"
    photo.write_bytes(PHOTO)
    act.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    page.set_input_files("#portal_files", [str(photo), str(act)])
    page.click('main form button[type=submit].btn--primary')
    page.wait_for_url("**/portal/tickets/*")
    card = page.inner_text("main")
    assert "+7 912 345-67-89" in card or "+7 912 345 67 89" in card

    # 3. The letter links to /portal/tickets/<number>, which opens this card.
    message = letter(live.mailbox, "buyer@example.com")
    links = [u for u in live.mailbox.links(message) if "/portal/tickets/" in u]
    assert links and links[0].rsplit("/", 1)[1].startswith("REQ-"), links
    card_url = page.url
    page.goto(live.path(links[0]))
    assert page.url == card_url

    # 8. The photo opens in place; the act downloads under its own name.
    photo_href = page.locator("main a", has_text="кран.png").first.get_attribute("href")
    response = page.request.get(photo_href)
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["content-type"] == "image/png"
    with page.expect_download() as download:
        page.locator("main a", has_text="акт приёмки.docx").first.click()
    assert download.value.suggested_filename == "акт приёмки.docx"



ADMIN_TABLES = ["/admin/types", "/admin/fields", "/admin/pipelines", "/admin/dictionaries",
                "/admin/roles", "/admin/audit", "/admin/outbox", "/admin/plugins"]
# A button past the window or scrolled out of its table's frame is cut off.
CUT_BUTTONS = """(() => [...document.querySelectorAll('main button, main .btn')]
  .filter(b => b.offsetParent !== null)
  .filter(b => { const r = b.getBoundingClientRect(), wrap = b.closest('.table-wrap');
                 const edge = wrap ? wrap.getBoundingClientRect().right : window.innerWidth;
                 return r.left < 0 || r.right > Math.min(edge, window.innerWidth) + 0.5; })
  .map(b => (b.innerText || b.value || b.title).trim()))()"""


def test_admin_tables_fit_with_every_button_on_screen(page, live_server):
    live_server.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    log_in(page, "admin@example.com", "admin-pass-1")
    problems = {}
    for size in ({"width": 1400, "height": 900}, WIDE, PHONE):
        page.set_viewport_size(size)
        for path in ADMIN_TABLES:
            page.goto(path)
            width, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]")
            cut = page.evaluate(CUT_BUTTONS)
            if width > inner or cut:
                problems[(size["width"], path)] = (width, cut)
    assert problems == {}, repr(problems)
