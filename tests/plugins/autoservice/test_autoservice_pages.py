"""The plugin's pages: the contact card's panel (rule and reason, the outcome
form), work orders, a customer's page, the report with its chart and CSV, the
category dictionary for admins; triggers on category and outcome; demo data."""

from __future__ import annotations

import pytest
from autoservice_helpers import complete, contact

from kernel.db import db
from kernel.models import ChoiceItem, Ticket
from plugins.autoservice import categories, workorders
from web.testing import login


def test_the_card_shows_the_rule_and_its_reason_and_records_the_outcome(client, shop):
    workorders.create({"number": "ZN-00042", "customer_id": shop.ivan.id, "car_make": "Kia"})
    c = contact(shop.agent, shop.ivan)
    login(client, shop.agent)
    page = client.get(f"/agent/tickets/{c.id}").get_data(as_text=True)
    assert 'data-auto-category="order_status"' in page
    assert "Открыт заказ-наряд ZN-00042" in page
    assert 'data-work-order="ZN-00042"' in page
    response = client.post(f"/autoservice/contacts/{c.id}/outcome",
                           data={"category": "repair", "outcome": "repair.booked"})
    assert response.status_code == 303
    db.session.expire_all()
    page = client.get(f"/agent/tickets/{c.id}").get_data(as_text=True)
    request = db.session.scalar(db.select(Ticket).where(Ticket.number.like("SR-%")))
    assert f'data-service-request="{request.number}"' in page
    sr_page = client.get(f"/agent/tickets/{request.id}").get_data(as_text=True)
    assert f'data-source-contact="{c.number}"' in sr_page


def test_a_refused_outcome_on_the_page_flashes_the_field(client, shop):
    c = contact(shop.agent, shop.ivan)
    login(client, shop.agent)
    response = client.post(f"/autoservice/contacts/{c.id}/outcome",
                           data={"category": "repair", "outcome": "parts.sale"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert not db.session.get(Ticket, c.id).is_closed


def test_customers_never_see_the_contact_panels(client, shop, customer_user):
    from kernel.models import Customer

    c = contact(shop.agent, db.session.get(Customer, customer_user.customer_id))
    workorders.create({"number": "ZN-9", "customer_id": customer_user.customer_id})
    login(client, customer_user)
    response = client.get(f"/portal/tickets/{c.id}")
    page = response.get_data(as_text=True)
    assert "autoservice.contact" not in page and "ZN-9" not in page
    assert client.post(f"/autoservice/contacts/{c.id}/outcome",
                       data={"category": "other"}).status_code in (403, 404)
    assert client.get("/autoservice/work-orders").status_code in (403, 404)


def test_work_order_pages(client, shop):
    login(client, shop.agent)
    response = client.post("/autoservice/work-orders/new", data={
        "number": "ZN-5", "customer_id": str(shop.ivan.id), "car_make": "Lada",
        "car_model": "Vesta", "plate": "х001хх77", "vin": "", "status": "open"})
    assert response.status_code == 303
    order = workorders.listing(None)[0]
    assert order.plate == "Х001ХХ77"
    bad = client.post("/autoservice/work-orders/new", data={"number": "ZN-5",
                                                            "customer_id": str(shop.ivan.id)})
    assert bad.status_code == 422
    assert client.get("/autoservice/work-orders").status_code == 200
    edit = client.post(f"/autoservice/work-orders/{order.id}", data={
        "number": "ZN-5", "customer_id": str(shop.ivan.id), "status": "closed"})
    assert edit.status_code == 303
    page = client.get(f"/autoservice/customers/{shop.ivan.id}").get_data(as_text=True)
    assert 'data-work-order="ZN-5"' in page


def test_report_page_chart_and_csv(client, shop):
    complete(contact(shop.agent, shop.ivan), shop.agent, category="repair",
             outcome="repair.booked")
    complete(contact(shop.agent, shop.olga), shop.agent, category="other")
    login(client, shop.agent)
    page = client.get("/autoservice/report").get_data(as_text=True)
    assert "<svg" in page and "data-chart" in page and "cdn" not in page.lower()
    assert 'data-kpi="rate">100.0%' in page
    csv = client.get("/autoservice/report.csv")
    assert csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert "100.0%" in text and text.count("\n") >= 5
    assert client.get("/autoservice/report?from=bad").status_code == 422


@pytest.fixture
def admin_client(client, shop):
    login(client, shop.admin)
    return client


def test_admin_adds_renames_hides_orders_and_groups_categories(admin_client, shop):
    c = admin_client
    assert c.get("/admin/autoservice/categories").status_code == 200
    assert c.post("/admin/autoservice/categories", data={
        "label": "Кузовной ремонт", "group": "Контакт с клиентом", "kind": "targeted",
        "visible": "1"}).status_code == 303
    new = next(x for x in categories.categories() if x.label == "Кузовной ремонт")
    assert new.kind == "targeted" and new.visible
    assert new.group == "Contact with customer"  # the declared group, shown in Russian
    assert len(categories.grouped()) == 1
    assert c.post(f"/admin/autoservice/categories/{new.value}/outcomes", data={
        "label": "Записан на покраску", "effect": "convert"}).status_code == 303
    outcome = categories.outcomes(new.value)[0]
    assert outcome.effect == "convert"
    assert c.post(f"/admin/autoservice/categories/{new.value}", data={
        "label": "Кузов и покраска", "group": "Сервис"}).status_code == 303
    renamed = categories.category(new.value)
    assert (renamed.label, renamed.group, renamed.visible) == ("Кузов и покраска", "Сервис",
                                                               False)
    c.post(f"/admin/autoservice/categories/{new.value}/move", data={"direction": "up"})
    assert [x.value for x in categories.categories()][-2:] == [new.value, "other"]
    c.post(f"/admin/autoservice/outcomes/{outcome.value}", data={
        "label": "Записан", "effect": "postpone", "visible": "1"})
    assert categories.outcome(outcome.value).effect == "postpone"
    refused = c.post("/admin/autoservice/categories", data={"label": " ", "kind": "targeted"})
    assert refused.status_code == 422
    bad_effect = c.post(f"/admin/autoservice/categories/{new.value}/outcomes",
                        data={"label": "x", "effect": "explode"})
    assert bad_effect.status_code == 422


def test_an_admins_new_category_works_end_to_end(shop):
    cat = categories.save_category({"label": "Кузовной ремонт", "kind": "targeted"},
                                   actor=shop.admin)
    outcome = categories.save_outcome(cat.value, {"label": "Записан", "effect": "convert"},
                                      actor=shop.admin)
    result = complete(contact(shop.agent, shop.ivan), shop.agent, category=cat.value,
                      outcome=outcome.value)
    assert result.service_request is not None
    hidden = categories.save_category({"label": "Кузовной ремонт", "visible": False},
                                      value=cat.value, actor=shop.admin)
    assert not hidden.visible
    from kernel.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        complete(contact(shop.agent, shop.olga), shop.agent, category=cat.value,
                 outcome=outcome.value)
    assert "category" in exc.value.errors


def test_agents_cannot_edit_the_dictionary(client, shop):
    login(client, shop.agent)
    assert client.get("/admin/autoservice/categories").status_code == 403
    item = db.session.scalar(db.select(ChoiceItem).where(ChoiceItem.value == "repair"))
    assert client.post("/admin/autoservice/categories/repair",
                       data={"label": "X"}).status_code == 403
    assert item.label == "Repair services"


def test_triggers_react_to_category_and_outcome(shop):
    from kernel.models import Message
    from plugins.triggers import service

    service.create({"name": "Refusals", "events": ["autoservice.outcome"],
                    "conditions": {"condition": "autoservice.outcome",
                                   "params": {"outcomes": ["repair.refused"]}},
                    "actions": [{"action": "triggers.add_note",
                                 "params": {"body": "Отказ — перезвонить через неделю"}}]})
    service.create({"name": "Second call", "events": ["created"],
                    "conditions": {"condition": "autoservice.category",
                                   "params": {"categories": ["continuation"]}},
                    "actions": [{"action": "triggers.add_note", "params": {"body": "Повтор"}}]})

    def notes(ticket):
        return [m.body for m in db.session.scalars(db.select(Message).where(
            Message.ticket_id == ticket.id))]

    first = contact(shop.agent, shop.ivan)
    assert notes(first) == []
    second = contact(shop.agent, shop.ivan)
    assert notes(second) == ["Повтор"]
    complete(first, shop.agent, category="repair", outcome="repair.refused")
    assert notes(first) == ["Отказ — перезвонить через неделю"]
    other = contact(shop.agent, shop.olga)
    complete(other, shop.agent, category="parts", outcome="parts.refused")
    assert notes(other) == []


def test_demo_data_shows_every_category_and_outcome(app, runner):
    from plugins.autoservice.models import ContactRecord

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    records = list(db.session.scalars(db.select(ContactRecord)))
    chosen = {r.category for r in records} | {r.auto_category for r in records}
    assert {c.value for c in categories.categories()} <= chosen
    assert {o.value for o in categories.outcomes()} <= {r.outcome for r in records}
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert len(list(db.session.scalars(db.select(ContactRecord)))) == len(records)


def test_the_customer_sees_the_progress_of_their_own_request_only(client, shop, customer_user):
    from kernel.models import Customer

    mine = db.session.get(Customer, customer_user.customer_id)
    request = complete(contact(shop.agent, mine), shop.agent, category="repair",
                       outcome="repair.booked").service_request
    others = complete(contact(shop.agent, shop.ivan), shop.agent, category="repair",
                      outcome="repair.booked").service_request
    login(client, customer_user)
    page = client.get(f"/portal/tickets/{request.id}").get_data(as_text=True)
    assert 'data-panel="autoservice.progress"' in page or "as-steps" in page
    assert "autoservice.request" not in page and "Заказ-наряды клиента" not in page
    assert client.get(f"/portal/tickets/{others.id}").status_code == 404


def test_report_and_follow_up_take_dates_as_the_language_writes_them(client, shop):
    """Browser-native date inputs show ``mm/dd/yyyy`` whatever the page's language."""
    login(client, shop.agent)
    page = client.get("/autoservice/report?from=01.04.2026&to=30.04.2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'type="date"' not in html and 'value="01.04.2026"' in html
    c = contact(shop.agent, shop.ivan)
    card = client.get(f"/agent/tickets/{c.id}").get_data(as_text=True)
    assert "datetime-local" not in card and 'data-date-input="time"' in card
    response = client.post(f"/autoservice/contacts/{c.id}/outcome",
                           data={"category": "repair", "outcome": "repair.postpone",
                                 "follow_up_at": "31.12.2099 10:30"})
    assert response.status_code == 303
    db.session.expire_all()
    ticket = db.session.get(Ticket, c.id)
    assert ticket.deadline is not None and ticket.deadline.year == 2099
