"""The warranty journey in a real browser (W2-W4): a buyer files a claim for
their apartment with two defects marked by clicking on the floor plan; an agent
opens the claim, sees both defects and their numbered marks, and fixes one."""

from __future__ import annotations

import io
from datetime import date, timedelta

from e2e_helpers import log_in, log_out

from kernel.db import db
from kernel.models import Customer, Ticket
from plugins.warranty import defects, plans
from plugins.warranty import property as prop


def _estate(live) -> dict:
    """A house under warranty with the buyer's apartment (with a plan), and a house
    whose warranty ended; the buyer owns an apartment in each."""
    buyer_id = live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева", role="agent")
    with live.db():
        from kernel.models import User

        customer = db.session.get(Customer, db.session.get(User, buyer_id).customer_id)
        today = date.today()
        park = prop.create_house({"name": "ЖК «Северный парк», корпус 1",
                                  "address": "ул. Шостаковича, 8",
                                  "warranty_until": (today + timedelta(days=700)).isoformat()})
        river = prop.create_house({"name": "ЖК «Речной квартал», дом 5",
                                   "address": "ул. Керченская, 5",
                                   "warranty_until": (today - timedelta(days=90)).isoformat()})
        flat = prop.create_apartment({"house_id": park.id, "number": "41", "floor": 6})
        prop.set_plan(flat, io.BytesIO(plans.draw_plan(plans.TWO_ROOM)))
        old = prop.create_apartment({"house_id": river.id, "number": "18", "floor": 3})
        prop.add_owner(flat, customer.id)
        prop.add_owner(old, customer.id)
        from kernel.services import settings

        settings.set("warranty.restrict_by_warranty", True)
        return {"flat": flat.id, "old": old.id}


def test_a_buyer_marks_two_defects_on_the_plan_and_an_agent_works_them(page, live_server, shot):
    live = live_server
    ids = _estate(live)
    log_in(page, "buyer@example.com", "buyer-pass-1")
    page.goto("/portal/new?type=claim")
    options = page.locator("#apartment option").evaluate_all("els => els.map(e => e.value)")
    # W3: the apartment in the house whose warranty ended is not offered.
    assert str(ids["flat"]) in options and str(ids["old"]) not in options
    page.fill("#subject", "Дефекты после первой зимы")
    page.select_option("#apartment", str(ids["flat"]))
    page.select_option("#claim_category", "finishing")
    plan = page.locator("[data-plan] img")
    plan.wait_for(state="visible")

    def click_plan(fx: float, fy: float) -> None:
        """A click at a fraction of the picture (Playwright scrolls it into view)."""
        box = plan.bounding_box()
        plan.click(position={"x": box["width"] * fx, "y": box["height"] * fy})

    row = page.locator("[data-defect-row]").nth(0)
    row.locator("select").select_option("crack")
    row.locator("textarea").fill("Трещина над дверью в спальню")
    row.locator("[data-mark-defect]").click()
    click_plan(0.30, 0.35)

    page.click("[data-add-defect]")
    row = page.locator("[data-defect-row]").nth(1)
    row.locator("select").select_option("leak")
    row.locator("textarea").fill("Мокрое пятно под окном кухни")
    click_plan(0.75, 0.70)
    assert page.locator("[data-plan] .warranty-mark").count() == 2
    shot(page, "warranty-claim-form", top=False)

    page.click('main form button[type=submit].btn--primary')
    page.wait_for_url("**/portal/tickets/*")
    assert page.locator('[data-panel="warranty.defects"] [data-mark]').count() == 2
    number = page.locator(".ticket-number").inner_text()
    assert number.startswith("W-")
    with live.db():
        claim = db.session.scalar(db.select(Ticket).where(Ticket.number == number))
        found = defects.for_ticket(claim)
        assert [(d.position, d.category) for d in found] == [(1, "crack"), (2, "leak")]
        assert abs(found[0].x - 0.30) < 0.02 and abs(found[1].y - 0.70) < 0.02
        claim_id = claim.id
    log_out(page)

    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto(f"/agent/tickets/{claim_id}")
    panel = page.locator('[data-panel="warranty.defects"]')
    assert panel.locator("[data-mark]").count() == 2
    assert "Трещина над дверью" in panel.inner_text()
    first = panel.locator('[data-defect="1"]')
    first.locator("select").select_option("fixed")
    first.locator("button[type=submit]").click()
    page.wait_for_url(f"**/agent/tickets/{claim_id}*")
    assert "1 из 2" in page.locator('[data-panel="warranty.defects"] [data-progress]').inner_text()
    page.locator('[data-panel="warranty.defects"]').evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 76)")
    shot(page, "warranty-claim-card", top=False)


def test_an_administrator_adds_a_house_an_apartment_its_plan_and_its_owner(
        page, live_server, shot, tmp_path):
    live = live_server
    live.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    buyer_id = live.user("buyer@example.com", "buyer-pass-1", name="Ирина Соколова")
    plan_file = tmp_path / "plan.png"
    plan_file.write_bytes(plans.draw_plan(plans.ONE_ROOM))
    log_in(page, "admin@example.com", "admin-pass-1")
    page.goto("/admin/warranty")
    page.fill("#name", "ЖК «Северный парк», корпус 1")
    page.fill("#address", "Санкт-Петербург, ул. Шостаковича, 8")
    page.fill("#warranty_until", (date.today() + timedelta(days=700)).isoformat())
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/admin/warranty/houses/*")
    page.fill("#new-apartment [name=number]", "41")
    page.fill("#new-apartment [name=floor]", "6")
    page.locator("#new-apartment button[type=submit]").click()
    page.wait_for_url("**/admin/warranty/apartments/*")
    page.set_input_files("#plan input[type=file]", str(plan_file))
    page.locator("#plan form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_url("**/admin/warranty/apartments/*")
    assert page.locator("img[src*='/plan']").count() == 1
    with live.db():
        from kernel.models import User

        customer_id = db.session.get(User, buyer_id).customer_id
    page.fill("#q", str(customer_id))  # found by the customer's number
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("form[action$='/owners'] button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "Ирина Соколова" in page.locator("#owners").inner_text()
    shot(page, "warranty-admin-apartment", full_page=False)
    page.goto("/admin/warranty")
    assert "Северный парк" in page.inner_text("main")
    shot(page, "warranty-admin-houses")
