"""The warranty plugin's REST API through the Flask test client with bearer tokens:
houses, apartments, plans, owners, a buyer's apartments, defects of claims, and
claims filed through the kernel's ``POST /tickets`` — permission boundaries,
422 naming the field, never a 500."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from warranty_helpers import png_bytes

from kernel.db import db
from kernel.models import Role
from kernel.services import settings, tokens, users

API = "/api/v1/warranty"


def bearer(user, name="test"):
    _row, secret = tokens.create(user, name)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_h(admin):
    return bearer(admin)


@pytest.fixture
def agent_h(agent):
    return bearer(agent)


@pytest.fixture
def buyer_h(estate):
    return bearer(estate.buyer)


@pytest.fixture
def other_buyer(app):
    return users.create({"email": "other-buyer@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other Buyer"})


@pytest.fixture
def other_h(other_buyer):
    return bearer(other_buyer)


def _agent_with(key, permissions):
    db.session.add(Role(key=key, name=key.title(), permissions=permissions))
    db.session.commit()
    return users.create({"email": f"{key}@test.example", "password": "limited-pass",
                         "roles": [key]})


@pytest.fixture
def blind_h(app):
    """An agent who may create tickets but see none: no houses for them."""
    return bearer(_agent_with("blind", ["tickets.create"]))


def upload(data: bytes, name: str, field: str = "file"):
    return {"data": {field: (io.BytesIO(data), name)}, "content_type": "multipart/form-data"}


def claim(client, headers, apartment, **values):
    values = {"apartment": apartment, "claim_category": "plumbing",
              "subject": "Течёт под ванной", **values}
    return client.post("/api/v1/tickets", headers=headers,
                       json={"type": "claim", "values": values})


# -- the document and authentication --------------------------------------------------


def test_openapi_document_lists_the_warranty_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/houses", "/houses/{house_id}", "/apartments", "/apartments/{apartment_id}",
                 "/apartments/{apartment_id}/plan", "/apartments/{apartment_id}/owners",
                 "/apartments/{apartment_id}/owners/{customer_id}", "/my/apartments",
                 "/claims/{ref}/defects", "/claims/{ref}/defects/{defect_id}",
                 "/claims/{ref}/defects/{defect_id}/photos"):
        assert f"{API}{path}" in paths, path
    assert "put" in paths[f"{API}/apartments/{{apartment_id}}/plan"]
    body = paths[f"{API}/apartments/{{apartment_id}}/plan"]["put"]["requestBody"]
    assert "multipart/form-data" in body["content"]


def test_no_token_is_401(client, estate):
    for path in ("/houses", f"/houses/{estate.active.id}", "/apartments", "/my/apartments",
                 f"/apartments/{estate.flat.id}/plan", "/claims/1/defects"):
        response = client.get(API + path)
        assert response.status_code == 401, path
        assert response.json["status"] == 401 and "Bearer" in response.headers["WWW-Authenticate"]
    assert client.post(f"{API}/houses", json={"name": "X", "warranty_until": "2030-01-01"}
                       ).status_code == 401


# -- houses ---------------------------------------------------------------------------


def test_manager_creates_changes_and_deletes_a_house(client, admin_h):
    made = client.post(f"{API}/houses", headers=admin_h,
                       json={"name": " ЖК Лесной ", "address": "ул. Лесная, 3",
                             "warranty_until": "2031-12-31"})
    assert made.status_code == 201, made.json
    house = made.json
    assert house["name"] == "ЖК Лесной" and house["warranty_until"] == "2031-12-31"
    assert house["warranty_active"] is True and house["apartments_count"] == 0
    ended = (date.today() - timedelta(days=1)).isoformat()
    patched = client.patch(f"{API}/houses/{house['id']}", headers=admin_h,
                           json={"warranty_until": ended})
    assert patched.status_code == 200, patched.json
    assert patched.json["warranty_active"] is False and patched.json["name"] == "ЖК Лесной"
    assert patched.json["address"] == "ул. Лесная, 3"  # what was not sent stays
    assert client.get(f"{API}/houses/{house['id']}", headers=admin_h).json == patched.json
    assert client.delete(f"{API}/houses/{house['id']}", headers=admin_h).status_code == 204
    assert client.get(f"{API}/houses/{house['id']}", headers=admin_h).status_code == 404


def test_house_input_errors_name_the_field(client, admin_h, estate):
    cases = [
        ({"address": "x", "warranty_until": "2030-01-01"}, "name"),
        ({"name": "   ", "warranty_until": "2030-01-01"}, "name"),
        ({"name": "A", "warranty_until": "31.12.2030"}, "warranty_until"),
        ({"name": "A"}, "warranty_until"),
        ({"name": "A", "warranty_until": "2030-01-01", "colour": "red"}, "colour"),
        ({"name": "A" * 201, "warranty_until": "2030-01-01"}, "name"),
    ]
    for body, field in cases:
        response = client.post(f"{API}/houses", headers=admin_h, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    latin = client.post(f"{API}/houses", headers=admin_h,
                        json={"name": "Riverside 2", "warranty_until": "2030-01-01"})
    assert latin.status_code == 201
    for name in ("Riverside 2", "RIVERSIDE 2"):
        clash = client.post(f"{API}/houses", headers=admin_h,
                            json={"name": name, "warranty_until": "2030-01-01"})
        assert clash.status_code == 422 and "name" in clash.json["errors"], name
        clash = client.patch(f"{API}/houses/{estate.expired.id}", headers=admin_h,
                             json={"name": name})
        assert clash.status_code == 422 and "name" in clash.json["errors"], name
    not_json = client.post(f"{API}/houses", headers={**admin_h, "Content-Type":
                                                     "application/json"}, data="{oops")
    assert not_json.status_code == 400
    has_flats = client.delete(f"{API}/houses/{estate.active.id}", headers=admin_h)
    assert has_flats.status_code == 422 and "house" in has_flats.json["errors"]


def test_a_duplicate_cyrillic_house_name_is_422(client, admin_h, estate):
    for name in (estate.active.name, estate.active.name.upper()):
        clash = client.post(f"{API}/houses", headers=admin_h,
                            json={"name": name, "warranty_until": "2030-01-01"})
        assert clash.status_code == 422 and "name" in clash.json["errors"], name


def test_agent_reads_houses_but_may_not_change_them(client, agent_h, blind_h, estate):
    listed = client.get(f"{API}/houses", headers=agent_h)
    assert listed.status_code == 200
    by_name = {h["name"]: h for h in listed.json}
    assert by_name[estate.active.name]["apartments_count"] == 2
    assert by_name[estate.active.name]["warranty_active"] is True
    assert by_name[estate.expired.name]["warranty_active"] is False
    house_id = estate.active.id
    assert client.post(f"{API}/houses", headers=agent_h,
                       json={"name": "N", "warranty_until": "2030-01-01"}).status_code == 403
    refused = client.patch(f"{API}/houses/{house_id}", headers=agent_h, json={"name": "N"})
    assert refused.status_code == 403 and refused.json["title"] == "Forbidden"
    assert client.delete(f"{API}/houses/{house_id}", headers=agent_h).status_code == 403
    assert client.get(f"{API}/houses", headers=blind_h).status_code == 403
    assert client.get(f"{API}/houses/{house_id}", headers=blind_h).status_code == 403
    assert client.get(f"{API}/houses/999999", headers=agent_h).status_code == 404
    assert client.get(f"{API}/houses/99999999999999999999", headers=agent_h).status_code == 404


def test_buyer_sees_only_the_houses_of_their_apartments(client, buyer_h, other_h, estate):
    from plugins.warranty import property as prop

    stranger = prop.create_house({"name": "Чужой дом", "warranty_until": "2030-01-01"})
    mine = client.get(f"{API}/houses", headers=buyer_h)
    assert mine.status_code == 200
    assert {h["id"] for h in mine.json} == {estate.active.id, estate.expired.id}
    assert client.get(f"{API}/houses/{estate.active.id}", headers=buyer_h).status_code == 200
    assert client.get(f"{API}/houses/{stranger.id}", headers=buyer_h).status_code == 404
    assert client.get(f"{API}/houses", headers=other_h).json == []
    assert client.get(f"{API}/houses/{estate.active.id}", headers=other_h).status_code == 404
    # Changing: their own house is "forbidden", another one is "not found".
    assert client.patch(f"{API}/houses/{estate.active.id}", headers=buyer_h,
                        json={"name": "Мой"}).status_code == 403
    assert client.delete(f"{API}/houses/{stranger.id}", headers=buyer_h).status_code == 404
    assert client.post(f"{API}/houses", headers=buyer_h,
                       json={"name": "N", "warranty_until": "2030-01-01"}).status_code == 403


# -- apartments -----------------------------------------------------------------------


def test_manager_creates_and_changes_apartments(client, admin_h, estate):
    made = client.post(f"{API}/apartments", headers=admin_h,
                       json={"house_id": estate.active.id, "number": " 14 ", "floor": 4})
    assert made.status_code == 201, made.json
    flat = made.json
    assert flat == {"id": flat["id"], "house_id": estate.active.id,
                    "house": estate.active.name, "number": "14", "floor": 4,
                    "has_plan": False, "plan_width": None, "plan_height": None,
                    "plan_url": None, "owners": []}
    renumbered = client.patch(f"{API}/apartments/{flat['id']}", headers=admin_h,
                              json={"number": "14a"})
    assert renumbered.status_code == 200, renumbered.json
    assert renumbered.json["number"] == "14a" and renumbered.json["floor"] == 4
    moved = client.patch(f"{API}/apartments/{flat['id']}", headers=admin_h,
                         json={"house_id": estate.expired.id, "floor": None})
    assert moved.status_code == 200, moved.json
    assert moved.json["house"] == estate.expired.name and moved.json["floor"] is None
    assert moved.json["number"] == "14a"
    assert client.delete(f"{API}/apartments/{flat['id']}", headers=admin_h).status_code == 204
    assert client.get(f"{API}/apartments/{flat['id']}", headers=admin_h).status_code == 404


def test_apartment_input_errors_name_the_field(client, admin_h, estate):
    house = estate.active.id
    cases = [
        ({"number": "1"}, "house_id"),
        ({"house_id": 999999, "number": "1"}, "house_id"),
        ({"house_id": "1", "number": "1"}, "house_id"),
        ({"house_id": house}, "number"),
        ({"house_id": house, "number": "12"}, "number"),
        ({"house_id": house, "number": "1", "floor": 1000}, "floor"),
        ({"house_id": house, "number": "1", "floor": "third"}, "floor"),
    ]
    for body, field in cases:
        response = client.post(f"{API}/apartments", headers=admin_h, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    clash = client.patch(f"{API}/apartments/{estate.other_flat.id}", headers=admin_h,
                         json={"number": "12"})
    assert clash.status_code == 422 and "number" in clash.json["errors"]
    unknown = client.get(f"{API}/apartments", headers=admin_h, query_string={"house_id": 999})
    assert unknown.status_code == 422 and "house_id" in unknown.json["errors"]
    bad = client.get(f"{API}/apartments", headers=admin_h, query_string={"house_id": "x"})
    assert bad.status_code == 422 and "house_id" in bad.json["errors"]


def test_agent_lists_apartments_with_owners(client, agent_h, blind_h, estate):
    listed = client.get(f"{API}/apartments", headers=agent_h).json
    by_id = {a["id"]: a for a in listed}
    assert set(by_id) == {estate.flat.id, estate.old_flat.id, estate.other_flat.id}
    assert by_id[estate.flat.id]["owners"] == [{"id": estate.customer.id,
                                                "name": estate.customer.name}]
    assert by_id[estate.other_flat.id]["owners"] == []
    assert by_id[estate.flat.id]["has_plan"] is True
    assert by_id[estate.flat.id]["plan_width"] == 400
    assert by_id[estate.flat.id]["plan_url"].endswith(f"/apartments/{estate.flat.id}/plan")
    in_house = client.get(f"{API}/apartments", headers=agent_h,
                          query_string={"house_id": estate.expired.id}).json
    assert [a["id"] for a in in_house] == [estate.old_flat.id]
    assert client.post(f"{API}/apartments", headers=agent_h,
                       json={"house_id": estate.active.id, "number": "99"}).status_code == 403
    assert client.patch(f"{API}/apartments/{estate.flat.id}", headers=agent_h,
                        json={"floor": 1}).status_code == 403
    assert client.get(f"{API}/apartments", headers=blind_h).status_code == 403


def test_buyer_sees_only_their_apartments_without_owners(client, buyer_h, other_h, estate):
    mine = client.get(f"{API}/apartments", headers=buyer_h).json
    assert {a["id"] for a in mine} == {estate.flat.id, estate.old_flat.id}
    assert all("owners" not in a for a in mine)
    filtered = client.get(f"{API}/apartments", headers=buyer_h,
                          query_string={"house_id": estate.expired.id}).json
    assert [a["id"] for a in filtered] == [estate.old_flat.id]
    one = client.get(f"{API}/apartments/{estate.flat.id}", headers=buyer_h)
    assert one.status_code == 200 and "owners" not in one.json
    assert client.get(f"{API}/apartments/{estate.other_flat.id}",
                      headers=buyer_h).status_code == 404
    assert client.get(f"{API}/apartments", headers=other_h).json == []
    assert client.get(f"{API}/apartments/{estate.flat.id}", headers=other_h).status_code == 404
    assert client.delete(f"{API}/apartments/{estate.flat.id}",
                         headers=buyer_h).status_code == 403
    assert client.delete(f"{API}/apartments/{estate.other_flat.id}",
                         headers=buyer_h).status_code == 404


def test_apartment_with_claims_is_not_deleted(client, admin_h, buyer_h, estate):
    assert claim(client, buyer_h, estate.flat.id).status_code == 201
    refused = client.delete(f"{API}/apartments/{estate.flat.id}", headers=admin_h)
    assert refused.status_code == 422 and "apartment" in refused.json["errors"]


# -- plans ----------------------------------------------------------------------------


def test_plan_upload_download_and_removal(client, admin_h, agent_h, buyer_h, other_h, estate):
    url = f"{API}/apartments/{estate.other_flat.id}/plan"
    assert client.get(url, headers=admin_h).status_code == 404
    put = client.put(url, headers=admin_h, **upload(png_bytes(640, 480), "plan.png", "plan"))
    assert put.status_code == 200, put.json
    assert put.json["has_plan"] and (put.json["plan_width"], put.json["plan_height"]) == (640,
                                                                                          480)
    got = client.get(url, headers=agent_h)
    assert got.status_code == 200 and got.content_type == "image/png"
    assert got.data.startswith(b"\x89PNG") and got.headers["X-Content-Type-Options"] == "nosniff"
    # Only owners among buyers: other_flat belongs to nobody.
    assert client.get(url, headers=buyer_h).status_code == 404
    own = client.get(f"{API}/apartments/{estate.flat.id}/plan", headers=buyer_h)
    assert own.status_code == 200 and own.data.startswith(b"\x89PNG")
    assert client.get(f"{API}/apartments/{estate.flat.id}/plan",
                      headers=other_h).status_code == 404
    removed = client.delete(url, headers=admin_h)
    assert removed.status_code == 200 and removed.json["has_plan"] is False
    assert removed.json["plan_url"] is None
    assert client.get(url, headers=admin_h).status_code == 404
    assert client.get(f"{API}/apartments/999999/plan", headers=admin_h).status_code == 404


def test_plan_upload_refusals(client, admin_h, agent_h, buyer_h, estate):
    url = f"{API}/apartments/{estate.flat.id}/plan"
    not_image = client.put(url, headers=admin_h, **upload(b"%PDF-1.4 hello", "plan.png", "plan"))
    assert not_image.status_code == 422 and "plan" in not_image.json["errors"]
    empty = client.put(url, headers=admin_h, **upload(b"", "plan.png", "plan"))
    assert empty.status_code == 422 and "plan" in empty.json["errors"]
    missing = client.put(url, headers=admin_h, **upload(png_bytes(), "plan.png", "other"))
    assert missing.status_code == 422 and "plan" in missing.json["errors"]
    assert client.put(url, headers=agent_h,
                      **upload(png_bytes(), "plan.png", "plan")).status_code == 403
    assert client.put(url, headers=buyer_h,
                      **upload(png_bytes(), "plan.png", "plan")).status_code == 403
    assert client.delete(url, headers=agent_h).status_code == 403
    assert client.put(f"{API}/apartments/999999/plan", headers=admin_h,
                      **upload(png_bytes(), "plan.png", "plan")).status_code == 404


# -- owners ---------------------------------------------------------------------------


def test_owners_are_added_listed_and_removed(client, admin_h, agent_h, other_buyer, estate):
    url = f"{API}/apartments/{estate.other_flat.id}/owners"
    assert client.get(url, headers=agent_h).json == []
    added = client.post(url, headers=admin_h, json={"customer_id": other_buyer.customer_id})
    assert added.status_code == 201, added.json
    assert added.json == {"id": other_buyer.customer_id, "name": "Other Buyer"}
    again = client.post(url, headers=admin_h, json={"customer_id": other_buyer.customer_id})
    assert again.status_code == 201
    assert client.get(url, headers=agent_h).json == [added.json]
    # The new owner's token sees the apartment now.
    assert client.get(f"{API}/apartments/{estate.other_flat.id}",
                      headers=bearer(other_buyer)).status_code == 200
    assert client.delete(f"{url}/{other_buyer.customer_id}", headers=agent_h).status_code == 403
    assert client.delete(f"{url}/{other_buyer.customer_id}", headers=admin_h).status_code == 204
    assert client.get(url, headers=agent_h).json == []
    assert client.delete(f"{url}/{other_buyer.customer_id}", headers=admin_h).status_code == 404
    assert client.delete(f"{url}/99999999999999999999", headers=admin_h).status_code == 404


def test_owner_errors_and_boundaries(client, admin_h, agent_h, buyer_h, estate):
    url = f"{API}/apartments/{estate.flat.id}/owners"
    for body in ({}, {"customer_id": "1"}, {"customer_id": 999999}, {"customer_id": True},
                 {"customer_id": 0}):
        response = client.post(url, headers=admin_h, json=body)
        assert response.status_code == 422, (body, response.json)
        assert "customer_id" in response.json["errors"], body
    assert client.post(url, headers=agent_h,
                       json={"customer_id": estate.customer.id}).status_code == 403
    # A buyer owning the apartment is refused its owners; another apartment is not found.
    assert client.get(url, headers=buyer_h).status_code == 403
    assert client.get(f"{API}/apartments/{estate.other_flat.id}/owners",
                      headers=buyer_h).status_code == 404
    assert client.post(url, headers=buyer_h,
                       json={"customer_id": estate.customer.id}).status_code == 403


# -- a buyer's own apartments ---------------------------------------------------------


def test_my_apartments_say_whether_claims_are_allowed(client, buyer_h, agent_h, other_h,
                                                      estate):
    mine = {a["id"]: a for a in client.get(f"{API}/my/apartments", headers=buyer_h).json}
    assert set(mine) == {estate.flat.id, estate.old_flat.id}
    assert mine[estate.flat.id]["warranty_active"] is True
    assert mine[estate.old_flat.id]["warranty_active"] is False
    assert mine[estate.old_flat.id]["warranty_until"] == estate.expired.warranty_until.isoformat()
    assert all(a["claims_allowed"] for a in mine.values())
    assert "owners" not in mine[estate.flat.id]
    settings.set("warranty.restrict_by_warranty", True)
    mine = {a["id"]: a for a in client.get(f"{API}/my/apartments", headers=buyer_h).json}
    assert mine[estate.flat.id]["claims_allowed"] is True
    assert mine[estate.old_flat.id]["claims_allowed"] is False
    assert client.get(f"{API}/my/apartments", headers=other_h).json == []
    refused = client.get(f"{API}/my/apartments", headers=agent_h)
    assert refused.status_code == 403 and refused.json["detail"]


# -- claims through the kernel's tickets API ------------------------------------------


def test_buyer_files_a_claim_only_for_their_apartment(client, buyer_h, other_h, estate):
    made = claim(client, buyer_h, estate.flat.id)
    assert made.status_code == 201, made.json
    assert made.json["type"] == "claim" and made.json["number"].startswith("W-")
    assert str(made.json["values"]["apartment"]) == str(estate.flat.id)
    assert made.json["customer_id"] == estate.customer.id
    foreign = claim(client, buyer_h, estate.other_flat.id)
    assert foreign.status_code == 422, foreign.json
    assert "values.apartment" in foreign.json["errors"]
    assert claim(client, other_h, estate.flat.id).status_code == 422
    missing = claim(client, buyer_h, None)
    assert missing.status_code == 422 and "values.apartment" in missing.json["errors"]
    bad_category = claim(client, buyer_h, estate.flat.id, claim_category="magic")
    assert bad_category.status_code == 422
    assert "values.claim_category" in bad_category.json["errors"]


def test_restrict_by_warranty_is_enforced_through_the_api(client, buyer_h, agent_h, estate):
    assert claim(client, buyer_h, estate.old_flat.id).status_code == 201
    settings.set("warranty.restrict_by_warranty", True)
    refused = claim(client, buyer_h, estate.old_flat.id)
    assert refused.status_code == 422, refused.json
    assert "values.apartment" in refused.json["errors"]
    # An agent filing for the buyer is refused the same way, whatever the way in.
    for_buyer = claim(client, agent_h, estate.old_flat.id, customer=estate.customer.id)
    assert for_buyer.status_code == 422 and "values.apartment" in for_buyer.json["errors"]
    assert claim(client, buyer_h, estate.flat.id).status_code == 201


def test_the_refusal_says_the_warranty_has_ended(client, buyer_h, estate):
    settings.set("warranty.restrict_by_warranty", True)
    refused = claim(client, buyer_h, estate.old_flat.id)
    assert refused.status_code == 422
    assert any("warranty" in m for m in refused.json["errors"]["values.apartment"])


# -- defects --------------------------------------------------------------------------


@pytest.fixture
def claim_ref(client, buyer_h, estate):
    made = claim(client, buyer_h, estate.flat.id)
    assert made.status_code == 201, made.json
    return made.json["number"]


def test_buyer_adds_defects_and_sees_progress(client, buyer_h, agent_h, claim_ref, estate):
    url = f"{API}/claims/{claim_ref}/defects"
    first = client.post(url, headers=buyer_h,
                        json={"category": "leak", "description": "  Под ванной лужа ",
                              "x": 0.25, "y": 0.5})
    assert first.status_code == 201, first.json
    assert first.json == {"id": first.json["id"], "position": 1, "category": "leak",
                          "description": "Под ванной лужа", "x": 0.25, "y": 0.5,
                          "status": "new", "photos": []}
    second = client.post(url, headers=buyer_h, json={"category": "crack",
                                                      "description": "Трещина"})
    assert second.status_code == 201 and second.json["x"] is None
    listed = client.get(url, headers=buyer_h).json
    assert (listed["done"], listed["total"]) == (0, 2)
    assert [d["position"] for d in listed["items"]] == [1, 2]
    fixed = client.patch(f"{url}/{first.json['id']}", headers=agent_h, json={"status": "fixed"})
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["status"] == "fixed"
    by_id = client.get(f"{API}/claims/{_ticket_id(claim_ref)}/defects", headers=agent_h)
    assert (by_id.json["done"], by_id.json["total"]) == (1, 2)
    history = client.get(f"/api/v1/tickets/{claim_ref}/history", headers=agent_h).json
    kinds = [e["kind"] for e in history]
    assert kinds.count("warranty.defect_added") == 2
    assert "warranty.defect_status_changed" in kinds
    assert {e["via"] for e in history if e["kind"].startswith("warranty.")} == {"api"}


def _ticket_id(ref):
    from kernel.services import tickets

    return tickets.get(ref).id


def test_defect_input_errors_name_the_field(client, buyer_h, claim_ref, estate):
    url = f"{API}/claims/{claim_ref}/defects"
    cases = [
        ({"description": "x"}, "category"),
        ({"category": "leak"}, "description"),
        ({"category": "leak", "description": "   "}, "description"),
        ({"category": "volcano", "description": "x"}, "category"),
        ({"category": "leak", "description": "x", "x": 0.5}, "x"),
        ({"category": "leak", "description": "x", "x": 1.5, "y": 0.5}, "x"),
        ({"category": "leak", "description": "x", "x": "left", "y": 0.5}, "x"),
        ({"category": "leak", "description": "x", "x": 0.5, "y": -1}, "y"),
        ({"category": "leak", "description": "x", "size": 3}, "size"),
    ]
    for body, field in cases:
        response = client.post(url, headers=buyer_h, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    assert client.get(url, headers=buyer_h).json["total"] == 0


def test_a_mark_needs_a_plan(client, buyer_h, estate):
    ref = claim(client, buyer_h, estate.old_flat.id).json["number"]
    refused = client.post(f"{API}/claims/{ref}/defects", headers=buyer_h,
                          json={"category": "leak", "description": "x", "x": 0.1, "y": 0.1})
    assert refused.status_code == 422 and "x" in refused.json["errors"]
    plain = client.post(f"{API}/claims/{ref}/defects", headers=buyer_h,
                        json={"category": "leak", "description": "x"})
    assert plain.status_code == 201


def test_another_customers_claim_is_not_found(client, other_h, claim_ref):
    url = f"{API}/claims/{claim_ref}/defects"
    assert client.get(url, headers=other_h).status_code == 404
    assert client.post(url, headers=other_h,
                       json={"category": "leak", "description": "x"}).status_code == 404
    assert client.get(f"{API}/claims/NOPE-1/defects", headers=other_h).status_code == 404


def test_defect_status_boundaries(client, app, buyer_h, agent_h, other_h, claim_ref):
    url = f"{API}/claims/{claim_ref}/defects"
    defect = client.post(url, headers=buyer_h,
                         json={"category": "leak", "description": "x"}).json
    one = f"{url}/{defect['id']}"
    assert client.patch(one, headers=buyer_h, json={"status": "fixed"}).status_code == 404
    assert client.patch(one, headers=other_h, json={"status": "fixed"}).status_code == 404
    bad = client.patch(one, headers=agent_h, json={"status": "done"})
    assert bad.status_code == 422 and "status" in bad.json["errors"]
    missing = client.patch(one, headers=agent_h, json={})
    assert missing.status_code == 422 and "status" in missing.json["errors"]
    assert client.patch(f"{url}/999999", headers=agent_h,
                        json={"status": "fixed"}).status_code == 404
    viewer = _agent_with("viewer", ["tickets.view"])
    refused = client.patch(one, headers=bearer(viewer), json={"status": "fixed"})
    assert refused.status_code == 403
    assert client.post(url, headers=bearer(viewer),
                       json={"category": "leak", "description": "x"}).status_code == 403
    assert client.patch(one, headers=agent_h, json={"status": "in_progress"}).status_code == 200


def test_defect_photos(client, buyer_h, agent_h, other_h, claim_ref):
    url = f"{API}/claims/{claim_ref}/defects"
    defect = client.post(url, headers=buyer_h,
                         json={"category": "leak", "description": "x"}).json
    photos = f"{url}/{defect['id']}/photos"
    added = client.post(photos, headers=buyer_h, **upload(png_bytes(80, 60), "лужа.png"))
    assert added.status_code == 201, added.json
    [photo] = added.json["photos"]
    assert photo["filename"] == "лужа.png"
    got = client.get(photo["url"], headers=agent_h)
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")
    assert client.get(photo["url"], headers=other_h).status_code == 404
    listed = client.get(url, headers=buyer_h).json["items"][0]
    assert listed["photos"] == [photo]
    not_image = client.post(photos, headers=buyer_h, **upload(b"just text", "x.png"))
    assert not_image.status_code == 422 and "file" in not_image.json["errors"]
    missing = client.post(photos, headers=buyer_h, **upload(png_bytes(), "x.png", "photo"))
    assert missing.status_code == 422 and "file" in missing.json["errors"]
    assert client.post(photos, headers=other_h,
                       **upload(png_bytes(), "x.png")).status_code == 404
    assert client.post(f"{url}/999999/photos", headers=buyer_h,
                       **upload(png_bytes(), "x.png")).status_code == 404
    by_agent = client.post(photos, headers=agent_h, **upload(png_bytes(), "b.png"))
    assert by_agent.status_code == 201 and len(by_agent.json["photos"]) == 2
    # The refused text file left nothing behind on the claim.
    files = client.get(f"/api/v1/tickets/{claim_ref}/attachments", headers=agent_h).json
    assert sorted(f["filename"] for f in files) == ["b.png", "лужа.png"]


def test_defects_on_a_closed_claim_or_switched_off(client, app, buyer_h, agent_h, claim_ref):
    url = f"{API}/claims/{claim_ref}/defects"
    defect = client.post(url, headers=buyer_h,
                         json={"category": "leak", "description": "x"}).json
    assert client.post(f"/api/v1/tickets/{claim_ref}/transitions", headers=agent_h,
                       json={"status": "rejected"}).status_code == 200
    closed = client.post(url, headers=buyer_h, json={"category": "leak", "description": "y"})
    assert closed.status_code == 422
    photo = client.post(f"{url}/{defect['id']}/photos", headers=buyer_h,
                        **upload(png_bytes(), "x.png"))
    assert photo.status_code == 422 and "file" in photo.json["errors"]
    settings.set("warranty.defects_enabled", False)
    off = client.post(url, headers=agent_h, json={"category": "leak", "description": "y"})
    assert off.status_code == 422


def test_defects_of_a_ticket_that_is_not_a_claim(client, agent_h, make_ticket, agent):
    ticket = make_ticket(actor=agent)
    url = f"{API}/claims/{ticket.number}/defects"
    assert client.get(url, headers=agent_h).json == {"done": 0, "total": 0, "items": []}
    refused = client.post(url, headers=agent_h, json={"category": "leak", "description": "x"})
    assert refused.status_code == 422 and refused.json["errors"]


# -- filters --------------------------------------------------------------------------


def test_ticket_filters_and_filtering_by_defect_category(client, buyer_h, agent_h, estate):
    leaking = claim(client, buyer_h, estate.flat.id).json["number"]
    cracked = claim(client, buyer_h, estate.flat.id).json["number"]
    claim(client, buyer_h, estate.old_flat.id)
    for ref, category in ((leaking, "leak"), (leaking, "crack"), (cracked, "crack")):
        assert client.post(f"{API}/claims/{ref}/defects", headers=buyer_h,
                           json={"category": category, "description": "x"}).status_code == 201
    found = client.get("/api/v1/tickets", headers=agent_h,
                       query_string={"filter": "warranty.defect_category:leak"})
    assert found.status_code == 200, found.json
    assert [t["number"] for t in found.json["items"]] == [leaking]
    mine = client.get("/api/v1/tickets", headers=buyer_h,
                      query_string={"filter": "warranty.defect_category:crack"}).json
    assert {t["number"] for t in mine["items"]} == {leaking, cracked}
    in_house = client.get("/api/v1/tickets", headers=agent_h,
                          query_string={"filter": f"warranty.house:{estate.expired.id}"}).json
    assert in_house["total"] == 1
    unknown = client.get("/api/v1/tickets", headers=agent_h,
                         query_string={"filter": "warranty.defect_category:volcano"})
    assert unknown.status_code == 422 and "filter" in str(unknown.json["errors"])
    declared = {f["key"]: f for f in client.get("/api/v1/ticket-filters", headers=agent_h).json}
    assert {"warranty.claim_category", "warranty.defect_category",
            "warranty.house"} <= set(declared)
    assert "leak" in {c["value"] for c in declared["warranty.defect_category"]["choices"]}
    assert declared["warranty.defect_category"]["ticket_types"] == ["claim"]


# -- a claim with its defects in one call ------------------------------------------------


def test_a_claim_and_its_defects_are_filed_in_one_call(client, estate, buyer_h):
    from kernel.models import Ticket
    from plugins.warranty.models import Defect

    body = {"values": {"apartment": estate.flat.id, "claim_category": "plumbing",
                       "subject": "Протечки после заселения"},
            "defects": [{"category": "leak", "description": "Под ванной", "x": 0.2, "y": 0.3},
                        {"category": "crack", "description": "Над дверью"}]}
    response = client.post(f"{API}/claims", headers=buyer_h, json=body)
    assert response.status_code == 201, response.json
    assert response.json["ticket"]["number"].startswith("W-")
    assert [(d["position"], d["category"], d["x"]) for d in response.json["defects"]] == [
        (1, "leak", 0.2), (2, "crack", None)]
    # The second defect is refused by the service after the claim and the first
    # defect were written: all of it is rolled back.
    bad = {**body, "defects": [body["defects"][0], {"category": "nope", "description": "x"}]}
    response = client.post(f"{API}/claims", headers=buyer_h, json=bad)
    assert response.status_code == 422 and "defects.1.category" in response.json["errors"]
    empty = {**body, "defects": [{"category": "leak", "description": ""}]}
    response = client.post(f"{API}/claims", headers=buyer_h, json=empty)
    assert response.status_code == 422 and "defects.0.description" in response.json["errors"]
    marked_without_plan = {"values": {**body["values"], "apartment": estate.old_flat.id},
                           "defects": [{"category": "leak", "description": "x",
                                        "x": 0.5, "y": 0.5}]}
    response = client.post(f"{API}/claims", headers=buyer_h, json=marked_without_plan)
    assert response.status_code == 422 and "defects.0.x" in response.json["errors"]
    foreign = {"values": {**body["values"], "apartment": estate.other_flat.id}}
    response = client.post(f"{API}/claims", headers=buyer_h, json=foreign)
    assert response.status_code == 422 and "values.apartment" in response.json["errors"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Defect)) == 2
    assert client.post(f"{API}/claims", json=body).status_code == 401
