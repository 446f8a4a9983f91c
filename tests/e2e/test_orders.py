"""The orders journey in a real browser ("How it is checked" of the orders issue):
a customer sends a request from "My orders"; the agent converts it from the inbox,
publishes an invoice link and a PDF, writes a visible and a hidden note and moves
the stage; the customer sees the stage, the link, the PDF and the visible note
only, and got the stage letter. Screenshots of both cards go into the user guide."""

from __future__ import annotations

from e2e_helpers import letter, log_in, log_out

from kernel.db import db
from kernel.models import Ticket

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_request_order_documents_notes_stage_and_letter(page, live_server, shot, tmp_path):
    live = live_server
    live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева", role="agent")
    invoice = tmp_path / "invoice-154.pdf"
    invoice.write_bytes(PDF)

    log_in(page, "buyer@example.com", "buyer-pass-1")
    page.goto("/orders/my")
    page.fill("#orders-subject", "Кофемашина из Италии")
    page.fill("#orders-details", "De'Longhi Dedica EC685, серебристая, 1 шт.")
    page.fill("#orders-address", "Москва, ул. Лесная, д. 5, кв. 12")
    page.click('[data-form="orders-request"] button[type=submit]')
    page.wait_for_url("**/orders/my")
    assert "Кофемашина из Италии" in page.inner_text("main")
    log_out(page)

    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto("/orders/inbox")
    row = page.locator("[data-request]").filter(has_text="Кофемашина из Италии")
    row.locator("select[name=order_type]").select_option("orders_delivery")
    row.locator('[data-form="orders-convert"] button[type=submit]').click()
    page.wait_for_url("**/agent/tickets/*")
    order_url = page.url
    publications = page.locator('[data-form="orders-link"]')
    publications.locator("[name=title]").fill("Счёт на оплату № 154")
    publications.locator("[name=url]").fill("https://pay.example.com/invoice/154")
    publications.locator("[name=kind]").select_option("invoice")
    publications.locator("button[type=submit]").click()
    page.wait_for_url("**/agent/tickets/*")
    document = page.locator('[data-form="orders-document"]')
    document.locator("[name=title]").fill("Счёт № 154 (PDF)")
    document.locator("[name=file]").set_input_files(str(invoice))
    document.locator("button[type=submit]").click()
    page.wait_for_url("**/agent/tickets/*")
    note = page.locator('[data-form="orders-note"]')
    note.locator("textarea").fill("Товар выкупаем, после оплаты отправим за два дня.")
    note.locator("[name=visible]").check()
    note.locator("button[type=submit]").click()
    page.wait_for_url("**/agent/tickets/*")
    note = page.locator('[data-form="orders-note"]')
    note.locator("textarea").fill("Поставщик дал скидку 5% — клиенту не говорить.")
    note.locator("button[type=submit]").click()
    page.wait_for_url("**/agent/tickets/*")
    page.select_option("#status-to", "buyout")
    page.click("form[action$='/status'] button[type=submit]")
    page.wait_for_url("**/agent/tickets/*")
    assert "Выкуп" in page.locator(".page-header").inner_text() or "Выкуп" in page.inner_text(
        "main")
    assert page.locator('[data-panel="orders.notes"] [data-note]').count() == 2
    page.goto(order_url)
    page.locator('[data-panel="orders.stages"]').evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 76)")
    shot(page, "orders-agent-card", top=False)
    with live.db():
        number = db.session.scalar(db.select(Ticket.number).where(
            Ticket.subject == "Кофемашина из Италии", Ticket.number.like("ORD-%")))
    log_out(page)

    log_in(page, "buyer@example.com", "buyer-pass-1")
    page.goto("/orders/my")
    page.locator("[data-order] a").first.click()
    page.wait_for_url("**/portal/tickets/*")
    stages = page.locator("#orders-stages")
    assert stages.locator('[data-state="current"]').inner_text() == "Выкуп"
    assert stages.locator('[data-state="passed"]').inner_text() == "Заявка принята"
    card = page.inner_text("main")
    assert "Счёт на оплату № 154" in card and "Счёт № 154 (PDF)" in card
    assert "после оплаты отправим" in card
    assert "скидку 5%" not in card
    link = page.locator('#orders-publications a[href="https://pay.example.com/invoice/154"]')
    assert link.count() == 1
    with page.expect_download() as download:
        page.locator("#orders-publications a", has_text="Счёт № 154 (PDF)").click()
    assert download.value.suggested_filename == "invoice-154.pdf"
    page.locator("#orders-stages").evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 120)")
    shot(page, "orders-customer-card", phone=True, top=False)

    count, message = 1, letter(live.mailbox, "buyer@example.com")
    while not message["Subject"].startswith("Заказ "):  # the notifications plugin writes too
        count += 1
        message = letter(live.mailbox, "buyer@example.com", count)
    assert message["Subject"] == f"Заказ {number}: Выкуп"
    assert "/orders/my/" in live.mailbox.text(message)
