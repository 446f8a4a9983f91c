"""The auto-service REST API: work orders pushed by a dealer system (upsert by
external id, idempotent), a contact's classification and outcome, the category
dictionary and the report — permissions, 422 naming the field."""

from __future__ import annotations

import pytest
from autoservice_helpers import complete, contact

from kernel.db import db
from kernel.services import tokens, users
from plugins.autoservice.models import WorkOrder

API = "/api/v1/autoservice"


def bearer(user, name="test"):
    _row, secret = tokens.create(user, name)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def agent_h(shop):
    return bearer(shop.agent)


def _order(shop, **extra):
    return {"number": "ZN-00042", "customer_id": shop.ivan.id, "car_make": "Kia",
            "car_model": "Rio", "plate": "а123вс178", "vin": "Z94CB41AAGR323456", **extra}


def test_upsert_by_external_id_is_idempotent(client, shop, agent_h):
    first = client.put(f"{API}/work-orders/DMS-1", json=_order(shop), headers=agent_h)
    assert first.status_code == 201, first.json
    assert first.json["plate"] == "А123ВС178" and first.json["status"] == "open"
    again = client.put(f"{API}/work-orders/DMS-1", json=_order(shop), headers=agent_h)
    assert again.status_code == 200 and again.json == first.json
    assert db.session.scalar(db.select(db.func.count(WorkOrder.id))) == 1
    closed = client.put(f"{API}/work-orders/DMS-1", json={"status": "closed"}, headers=agent_h)
    assert closed.status_code == 200 and closed.json["closed_at"] is not None
    assert closed.json["number"] == "ZN-00042"
    got = client.get(f"{API}/work-orders/DMS-1", headers=agent_h)
    assert got.json["status"] == "closed"


@pytest.mark.parametrize("body,field", [
    ({"number": "ZN-1", "customer_id": 999}, "customer_id"),
    ({"number": "ZN-1"}, "customer_id"),
    ({"customer_id": 1}, "number"),
    ({"number": "ZN-1", "customer_phone": "+7 999 000-00-01"}, "customer_phone"),
    ({"number": "ZN-1", "customer_id": 1, "vin": "IOQ"}, "vin"),
    ({"number": "ZN-1", "customer_id": 1, "status": "lost"}, "status"),
    ({"number": "ZN-1", "customer_id": 1, "external_id": "OTHER"}, "external_id"),
])
def test_bad_work_orders_are_refused_with_the_field(client, shop, agent_h, body, field):
    response = client.put(f"{API}/work-orders/DMS-2", json=body, headers=agent_h)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert db.session.scalar(db.select(db.func.count(WorkOrder.id))) == 0


def test_a_work_order_finds_its_customer_by_phone(client, shop, agent_h):
    response = client.put(f"{API}/work-orders/DMS-3", headers=agent_h,
                          json={"number": "ZN-3", "customer_phone": "8 916 555 44 33"})
    assert response.status_code == 201 and response.json["customer_id"] == shop.olga.id


def test_customers_see_only_their_own_work_orders(client, shop, agent_h, customer_user):
    from kernel.models import Customer

    mine = db.session.get(Customer, customer_user.customer_id)
    client.put(f"{API}/work-orders/A", json=_order(shop, customer_id=mine.id, number="ZN-A"),
               headers=agent_h)
    client.put(f"{API}/work-orders/B", json=_order(shop, number="ZN-B"), headers=agent_h)
    own = bearer(customer_user)
    listed = client.get(f"{API}/work-orders", headers=own).json
    assert [o["number"] for o in listed] == ["ZN-A"]
    assert client.get(f"{API}/work-orders/B", headers=own).status_code == 404
    assert client.put(f"{API}/work-orders/B", json={"status": "closed"},
                      headers=own).status_code == 403
    assert client.get(f"{API}/report", headers=own).status_code == 403
    assert len(client.get(f"{API}/work-orders", headers=agent_h).json) == 2


def test_outcome_and_classification_through_the_api(client, shop, agent_h):
    contact(shop.agent, shop.ivan)
    c = contact(shop.agent, shop.ivan)
    got = client.get(f"{API}/contacts/{c.id}/classification", headers=agent_h).json
    assert got["automatic_category"] == "continuation" and got["rule"] == "continuation"
    assert got["reason"]["text"] == "Contact no. 2 of this customer today"
    bad = client.post(f"{API}/contacts/{c.id}/outcome", headers=agent_h,
                      json={"category": "repair", "outcome": "parts.sale"})
    assert bad.status_code == 422 and "outcome" in bad.json["errors"]
    done = client.post(f"{API}/contacts/{c.id}/outcome", headers=agent_h,
                       json={"category": "repair", "outcome": "repair.booked"})
    assert done.status_code == 200, done.json
    assert done.json["contact"]["status"]["key"] == "converted"
    assert done.json["service_request"]["number"].startswith("SR-")
    twice = client.post(f"{API}/contacts/{c.id}/outcome", headers=agent_h,
                        json={"category": "repair", "outcome": "repair.booked"})
    assert twice.status_code == 422 and "outcome" in twice.json["errors"]
    after = client.get(f"{API}/contacts/{c.id}/classification", headers=agent_h).json
    assert after["overridden"] is True and after["service_request_id"]


def test_a_contact_made_through_the_kernel_api_is_classified(client, shop, agent_h):
    contact(shop.agent, shop.olga)
    made = client.post("/api/v1/tickets", headers=agent_h, json={
        "type": "contact", "values": {"subject": "Звонок", "caller_phone": "+79165554433"}})
    assert made.status_code == 201, made.json
    got = client.get(f"{API}/contacts/{made.json['id']}/classification", headers=agent_h).json
    assert got["category"] == "continuation"


def test_categories_and_report_in_the_api(client, shop, agent_h):
    cats = client.get(f"{API}/categories", headers=agent_h).json
    assert [c["value"] for c in cats] == ["repair", "parts", "continuation", "order_status",
                                          "repeat", "other"]
    assert [o["value"] for o in cats[1]["outcomes"]] == [
        "parts.reserve", "parts.no_reserve", "parts.sale", "parts.redirect", "parts.refused"]
    complete(contact(shop.agent, shop.ivan), shop.agent, category="repair",
             outcome="repair.booked")
    complete(contact(shop.agent, shop.olga), shop.agent, category="parts",
             outcome="parts.refused")
    report = client.get(f"{API}/report", headers=agent_h).json
    assert (report["contacts"], report["targeted"], report["converted"]) == (2, 2, 1)
    assert report["conversion_rate"] == 0.5
    bad = client.get(f"{API}/report?from=2026-05-01&to=2026-04-01", headers=agent_h)
    assert bad.status_code == 422 and "from" in bad.json["errors"]


def test_an_agent_without_work_order_rights_cannot_push(client, shop):
    from kernel.models import Role

    db.session.add(Role(key="viewer", name="Viewer", permissions=["tickets.view"]))
    db.session.commit()
    viewer = users.create({"email": "viewer@test.example", "password": "viewer-pass-1",
                           "roles": ["viewer"]})
    response = client.put(f"{API}/work-orders/X", json=_order(shop), headers=bearer(viewer))
    assert response.status_code == 403


def test_the_report_is_declared_for_the_kernel(shop):
    from kernel import runtime

    complete(contact(shop.agent, shop.ivan), shop.agent, category="other")
    entry = runtime.host().registry.reports["autoservice.contacts"]
    table = entry.decl.build({})
    assert table["columns"] == ["category", "outcome", "contacts"]
    assert table["rows"] == [["other", None, 1]]
