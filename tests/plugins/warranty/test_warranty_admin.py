"""The warranty admin screens (/admin/warranty, W1, W2): only for "warranty.manage";
houses, apartments, plans and owners changed through the pages, refusals shown
under the field they name, and the CSV import page."""

from __future__ import annotations

import io
import re

import pytest
from warranty_helpers import png_bytes

from kernel.db import db
from kernel.models import AuditEntry, Customer, Role
from kernel.services import customers, users
from plugins.warranty import property as prop
from plugins.warranty.models import Apartment, House, Ownership
from web.testing import login

BASE = "/admin/warranty"


def _english(user):
    users.update_preferences(user, {"locale": "en", "timezone": "UTC"}, actor=user)


@pytest.fixture
def admin_client(client, admin):
    _english(admin)
    login(client, admin)
    return client


def _field_error(page: str, name: str) -> str:
    """The error text shown under the field ``name`` (empty when none)."""
    block = re.search(rf'data-field="{name}">(.*?)</div>', page, re.S)
    assert block, f"no field {name} on the page"
    error = re.search(r'class="field-error"[^>]*>(.*?)</p>', block.group(1), re.S)
    return error.group(1) if error else ""


def _house(name: str) -> House | None:
    db.session.expire_all()
    return db.session.scalar(db.select(House).where(House.name == name))


# -- who may open the screens -------------------------------------------------------------


URLS = ["", "/import", "/houses/{house}", "/apartments/{flat}"]


@pytest.mark.parametrize("path", URLS)
def test_an_agent_without_the_permission_gets_403(client, agent, estate, path):
    _english(agent)
    login(client, agent)
    url = BASE + path.format(house=estate.active.id, flat=estate.flat.id)
    assert client.get(url).status_code == 403
    refused = client.post(f"{BASE}/houses", data={"name": "X", "warranty_until": "2030-01-01"})
    assert refused.status_code == 403
    assert _house("X") is None


@pytest.mark.parametrize("path", URLS)
def test_a_customer_gets_403(client, estate, path):
    login(client, estate.buyer)
    url = BASE + path.format(house=estate.active.id, flat=estate.flat.id)
    assert client.get(url).status_code == 403
    assert client.post(f"{BASE}/apartments/{estate.flat.id}/delete").status_code == 403
    assert db.session.get(Apartment, estate.flat.id) is not None


def test_a_visitor_is_sent_to_log_in(client, estate):
    response = client.get(BASE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _grant(agent, *granted):
    role = db.session.scalar(db.select(Role).where(Role.key == "agent"))
    users.save_role("agent", role.name, list(granted))
    db.session.expire_all()


def test_an_agent_with_the_permission_sees_the_menu_entry(client, agent, estate):
    _grant(agent, "warranty.defects", "tickets.view", "warranty.manage")
    _english(agent)
    login(client, agent)
    page = client.get(BASE).get_data(as_text=True)
    assert estate.active.name in page
    assert f'href="{BASE}"' in page  # the main menu and the admin menu


def test_admin_sees_houses_with_expired_badge_and_counts(admin_client, estate):
    page = admin_client.get(BASE).get_data(as_text=True)
    rows = {name: row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            for name in (estate.active.name, estate.expired.name) if name in row}
    assert "expired" not in rows[estate.active.name]
    assert "expired" in rows[estate.expired.name]
    assert re.search(r'class="num"[^>]*>2</td>', rows[estate.active.name])
    assert re.search(r'class="num"[^>]*>1</td>', rows[estate.expired.name])
    assert estate.active.address in page
    assert 'href="/admin/warranty"' in admin_client.get("/admin/").get_data(as_text=True)


def test_an_empty_list_invites_to_create_or_import(admin_client):
    page = admin_client.get(BASE).get_data(as_text=True)
    assert "No houses yet" in page and f"{BASE}/import" in page


# -- houses ---------------------------------------------------------------------------


def test_create_edit_and_delete_a_house(admin_client, admin):
    made = admin_client.post(f"{BASE}/houses", data={
        "name": "  Sunny Park 1 ", "address": "1 Sunny St.", "warranty_until": "31.12.2030"})
    assert made.status_code == 303
    house = _house("Sunny Park 1")
    assert made.headers["Location"].endswith(f"{BASE}/houses/{house.id}")
    assert str(house.warranty_until) == "2030-12-31" and house.address == "1 Sunny St."
    page = admin_client.get(made.headers["Location"]).get_data(as_text=True)
    assert "House “Sunny Park 1” is created." in page and "No apartments yet" in page
    assert f"{BASE}/houses/{house.id}/delete" in page
    saved = admin_client.post(f"{BASE}/houses/{house.id}", data={
        "name": "Sunny Park, building 1", "address": "", "warranty_until": "2031-01-15"})
    assert saved.status_code == 303
    house = _house("Sunny Park, building 1")
    assert (house.address, str(house.warranty_until)) == ("", "2031-01-15")
    entry = db.session.scalar(db.select(AuditEntry).where(
        AuditEntry.action == "warranty.house_update"))
    assert entry.actor_id == admin.id
    gone = admin_client.post(f"{BASE}/houses/{house.id}/delete")
    assert gone.status_code == 303 and gone.headers["Location"].endswith(BASE)
    assert _house("Sunny Park, building 1") is None


def test_a_duplicate_name_is_refused_under_the_field(admin_client):
    prop.create_house({"name": "Sunny Park", "warranty_until": "2030-01-01"})
    refused = admin_client.post(f"{BASE}/houses", data={"name": "sunny park",
                                                        "warranty_until": "2030-01-01"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert _field_error(page, "name") == "A house with this name already exists."
    assert 'value="sunny park"' in page  # what was typed stays
    assert db.session.scalar(db.select(db.func.count(House.id))) == 1


def test_house_errors_name_their_field(admin_client, estate):
    refused = admin_client.post(f"{BASE}/houses", data={"name": "New",
                                                        "warranty_until": "someday"})
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "warranty_until") == "Not a valid date."
    empty = admin_client.post(f"{BASE}/houses/{estate.active.id}", data={
        "name": "", "warranty_until": "2030-01-01"})
    assert empty.status_code == 422
    assert _field_error(empty.get_data(as_text=True), "name") == "This field is required."
    assert _house(estate.active.name) is not None


def test_a_house_with_apartments_is_not_deleted(admin_client, estate):
    refused = admin_client.post(f"{BASE}/houses/{estate.active.id}/delete")
    assert refused.status_code == 303
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "The house has apartments: delete them first." in page
    assert _house(estate.active.name) is not None


def test_the_house_page_lists_apartments_with_plan_and_owners(admin_client, estate):
    page = admin_client.get(f"{BASE}/houses/{estate.active.id}").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    flat = next(r for r in rows if f"/apartments/{estate.flat.id}\"" in r)
    other = next(r for r in rows if f"/apartments/{estate.other_flat.id}\"" in r)
    assert "apt. 12" in flat and ">3<" in flat and "yes" in flat and "Buyer" in flat
    assert "no" in other and "Buyer" not in other
    assert "Under warranty until" in page
    assert f"/houses/{estate.active.id}/delete" not in page  # it has apartments


# -- apartments -----------------------------------------------------------------------


def test_create_edit_and_delete_an_apartment(admin_client, estate):
    made = admin_client.post(f"{BASE}/houses/{estate.active.id}/apartments",
                             data={"number": "14", "floor": "4"})
    assert made.status_code == 303
    flat = db.session.scalar(db.select(Apartment).where(Apartment.number == "14"))
    assert (flat.house_id, flat.floor) == (estate.active.id, 4)
    assert made.headers["Location"].endswith(f"{BASE}/apartments/{flat.id}")
    saved = admin_client.post(f"{BASE}/apartments/{flat.id}", data={
        "house_id": str(estate.expired.id), "number": "14a", "floor": ""})
    assert saved.status_code == 303
    db.session.expire_all()
    flat = db.session.get(Apartment, flat.id)
    assert (flat.house_id, flat.number, flat.floor) == (estate.expired.id, "14a", None)
    gone = admin_client.post(f"{BASE}/apartments/{flat.id}/delete")
    assert gone.status_code == 303
    assert gone.headers["Location"].endswith(f"{BASE}/houses/{estate.expired.id}")
    assert db.session.get(Apartment, flat.id) is None


def test_a_duplicate_number_is_refused_under_the_field(admin_client, estate):
    refused = admin_client.post(f"{BASE}/houses/{estate.active.id}/apartments",
                                data={"number": "12", "floor": "1"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert _field_error(page, "number") == \
        "This house already has an apartment with this number."
    moved = admin_client.post(f"{BASE}/apartments/{estate.other_flat.id}", data={
        "house_id": str(estate.active.id), "number": "12", "floor": "3"})
    assert moved.status_code == 422
    assert _field_error(moved.get_data(as_text=True), "number") == \
        "This house already has an apartment with this number."
    db.session.expire_all()
    assert db.session.get(Apartment, estate.other_flat.id).number == "13"


def test_a_bad_floor_is_refused_under_the_field(admin_client, estate):
    refused = admin_client.post(f"{BASE}/houses/{estate.active.id}/apartments",
                                data={"number": "99", "floor": "high"})
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "floor") == "Not a valid integer."
    too_high = admin_client.post(f"{BASE}/houses/{estate.active.id}/apartments",
                                 data={"number": "99", "floor": "999"})
    assert too_high.status_code == 422
    assert "300" in _field_error(too_high.get_data(as_text=True), "floor")
    assert db.session.scalar(db.select(Apartment).where(Apartment.number == "99")) is None


def test_an_apartment_with_claims_is_not_deleted(admin_client, estate):
    from kernel.services import tickets

    tickets.create({"subject": "Leak", "apartment": estate.flat.id,
                    "claim_category": "plumbing"}, actor=estate.buyer, type="claim")
    refused = admin_client.post(f"{BASE}/apartments/{estate.flat.id}/delete")
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "The apartment has claims: it cannot be deleted." in page
    assert db.session.get(Apartment, estate.flat.id) is not None


# -- plans ----------------------------------------------------------------------------


def test_upload_replace_and_remove_a_plan(admin_client, estate):
    flat = estate.other_flat
    page = admin_client.get(f"{BASE}/apartments/{flat.id}").get_data(as_text=True)
    assert "No plan yet" in page and "Upload the plan" in page
    sent = admin_client.post(f"{BASE}/apartments/{flat.id}/plan", data={
        "plan": (io.BytesIO(png_bytes(640, 480)), "plan.png", "image/png")},
        content_type="multipart/form-data")
    assert sent.status_code == 303
    db.session.expire_all()
    flat = db.session.get(Apartment, flat.id)
    assert (flat.plan_content_type, flat.plan_width, flat.plan_height) == ("image/png", 640, 480)
    page = admin_client.get(f"{BASE}/apartments/{flat.id}").get_data(as_text=True)
    assert f'src="/warranty/apartments/{flat.id}/plan"' in page and "Replace the plan" in page
    image = admin_client.get(f"/warranty/apartments/{flat.id}/plan")
    assert image.status_code == 200 and image.mimetype == "image/png"
    first = flat.plan_sha256
    admin_client.post(f"{BASE}/apartments/{flat.id}/plan", data={
        "plan": (io.BytesIO(png_bytes(300, 200, "yellow")), "v2.png")},
        content_type="multipart/form-data")
    db.session.expire_all()
    flat = db.session.get(Apartment, flat.id)
    assert flat.plan_sha256 != first and flat.plan_width == 300
    removed = admin_client.post(f"{BASE}/apartments/{flat.id}/plan/delete")
    assert removed.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Apartment, flat.id).has_plan


def test_a_file_that_is_not_an_image_is_refused(admin_client, estate):
    refused = admin_client.post(f"{BASE}/apartments/{estate.other_flat.id}/plan", data={
        "plan": (io.BytesIO(b"%PDF-1.4 not a picture"), "plan.png", "image/png")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "plan") == \
        "The plan must be a PNG, JPEG or WebP image."
    nothing = admin_client.post(f"{BASE}/apartments/{estate.other_flat.id}/plan", data={},
                                content_type="multipart/form-data")
    assert nothing.status_code == 422
    assert _field_error(nothing.get_data(as_text=True), "plan") == "Choose an image file."
    db.session.expire_all()
    assert not db.session.get(Apartment, estate.other_flat.id).has_plan


# -- owners ---------------------------------------------------------------------------


@pytest.fixture
def second_buyer(app):
    return customers.create({"name": "Anna Petrova", "phones": ["+7 912 345-67-89"],
                             "emails": ["anna@example.com"]})


def test_find_a_customer_by_phone_email_or_number_and_add_them(admin_client, estate,
                                                              second_buyer):
    url = f"{BASE}/apartments/{estate.other_flat.id}"
    for query in ("8 (912) 345-67-89", "ANNA@example.com", f"#{second_buyer.id}"):
        page = admin_client.get(url, query_string={"q": query}).get_data(as_text=True)
        assert "Anna Petrova" in page and "Add as owner" in page, query
        assert "+7 912 345-67-89" in page  # the admin may see customers' contacts
    nobody = admin_client.get(url, query_string={"q": "+7 999 000-00-00"})
    assert "Nobody found" in nobody.get_data(as_text=True)
    added = admin_client.post(f"{url}/owners", data={"customer_id": str(second_buyer.id)})
    assert added.status_code == 303 and added.headers["Location"].endswith("#owners")
    assert [c.name for c in prop.owners(estate.other_flat)] == ["Anna Petrova"]
    page = admin_client.get(url, query_string={"q": "anna@example.com"}).get_data(as_text=True)
    assert "Anna Petrova is an owner of the apartment now." in page
    assert ">owner<" in page and "Add as owner" not in page


def test_a_query_that_is_not_a_customer_key_is_refused(admin_client, estate):
    page = admin_client.get(f"{BASE}/apartments/{estate.flat.id}",
                            query_string={"q": "Petrova"}).get_data(as_text=True)
    assert _field_error(page, "q") == "Not a customer number, phone or e-mail."


def test_an_unknown_customer_is_refused_under_the_search(admin_client, estate):
    refused = admin_client.post(f"{BASE}/apartments/{estate.other_flat.id}/owners",
                                data={"customer_id": "999999"})
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "q") == "No such customer."
    assert prop.owners(estate.other_flat) == []


def test_remove_an_owner(admin_client, estate):
    url = f"{BASE}/apartments/{estate.flat.id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert "Buyer" in page and f"/owners/{estate.customer.id}/delete" in page
    removed = admin_client.post(f"{url}/owners/{estate.customer.id}/delete")
    assert removed.status_code == 303
    assert prop.owners(estate.flat) == []
    assert "Buyer no longer owns the apartment." in admin_client.get(url).get_data(as_text=True)
    assert admin_client.post(f"{url}/owners/{estate.customer.id}/delete").status_code == 404


def test_contacts_are_hidden_from_managers_who_may_not_see_customers(client, agent, estate,
                                                                     second_buyer):
    _grant(agent, "warranty.manage")
    _english(agent)
    login(client, agent)
    page = client.get(f"{BASE}/apartments/{estate.other_flat.id}",
                      query_string={"q": "anna@example.com"}).get_data(as_text=True)
    assert "Anna Petrova" in page and "+7 912 345-67-89" not in page


def test_requests_without_csrf_are_refused(admin_client, estate):
    refused = admin_client.post(f"{BASE}/houses/{estate.active.id}/delete", csrf=False)
    assert refused.status_code == 400


# -- import page ----------------------------------------------------------------------


def _upload(text: str, name: str = "houses.csv", encoding: str = "utf-8"):
    return (io.BytesIO(text.encode(encoding)), name, "text/csv")


def test_import_page_imports_a_file(admin_client, estate):
    csv = ("house,address,warranty_until,apartment,floor,owner_phone,owner_email\n"
           "Sunny Park 2,2 Sunny St.,2031-06-30,1,1,,buyer@test.example\n"
           "Sunny Park 2,,,2,1,,\n")
    page = admin_client.get(f"{BASE}/import").get_data(as_text=True)
    assert "warranty_until" in page and "Download a sample file" in page
    done = admin_client.post(f"{BASE}/import", data={"file": _upload(csv)},
                             content_type="multipart/form-data")
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    assert "Imported" in page and "2 rows imported." in page
    assert re.search(r"Houses created</dt><dd>1<", page)
    assert re.search(r"Apartments created</dt><dd>2<", page)
    assert re.search(r"Owners linked</dt><dd>1<", page)
    house = _house("Sunny Park 2")
    assert [a.number for a in house.apartments] == ["1", "2"]


def test_import_page_dry_run_and_errors_write_nothing(admin_client, estate):
    csv = ("house;address;warranty_until;apartment\n"
           "Sunny Park 3;;2031-06-30;1\n")
    checked = admin_client.post(f"{BASE}/import", data={"file": _upload(csv), "dry_run": "y"},
                                content_type="multipart/form-data")
    assert checked.status_code == 200
    assert "nothing was written" in checked.get_data(as_text=True)
    assert _house("Sunny Park 3") is None
    bad = csv + "Sunny Park 3;;;2\nOther;;13/13/2030;1\n"
    refused = admin_client.post(f"{BASE}/import", data={"file": _upload(bad)},
                                content_type="multipart/form-data")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Nothing was imported: the file has 1 problem." in page
    assert "line 4, warranty_until: Expected a date as YYYY-MM-DD or DD.MM.YYYY." in page
    assert _house("Sunny Park 3") is None and _house("Other") is None


def test_import_page_wants_a_file(admin_client):
    refused = admin_client.post(f"{BASE}/import", data={}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "file") == "Choose a CSV file."


def test_the_sample_file_imports_once_its_owners_exist(admin_client, app):
    sample = admin_client.get(f"{BASE}/import/sample.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    customers.create({"name": "Sample Buyer", "phones": ["+7 912 345-67-89"],
                      "emails": ["buyer@example.com"]})
    done = admin_client.post(f"{BASE}/import", data={
        "file": (io.BytesIO(sample.data), "sample.csv")}, content_type="multipart/form-data")
    assert done.status_code == 200, done.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Ownership.id))) == 2
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1
