"""Claims through the service layer and the portal: the apartment is only the
buyer's own (W2), the warranty option is enforced on the server (W3), defects
come with the claim in one transaction (W4), and a claim is not resolved while
a defect is open."""

from __future__ import annotations

import io

import pytest
from warranty_helpers import png_bytes
from werkzeug.datastructures import FileStorage

from kernel.db import db
from kernel.errors import TransitionRefused, ValidationFailed
from kernel.models import Ticket
from kernel.services import settings, tickets
from plugins.warranty import defects
from plugins.warranty.models import Defect
from web.testing import login


def claim_values(estate, **more):
    values = {"subject": "Течёт кран", "apartment": estate.flat.id, "claim_category": "plumbing"}
    values.update(more)
    return values


def test_a_buyer_files_a_claim_for_their_own_apartment(estate):
    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    assert ticket.number.startswith("W-")
    assert ticket.values["apartment"] == estate.flat.id
    assert ticket.customer_id == estate.customer.id


def test_another_buyers_apartment_is_refused_by_name(estate):
    with pytest.raises(ValidationFailed) as caught:
        tickets.create(claim_values(estate, apartment=estate.other_flat.id), actor=estate.buyer,
                       type="claim")
    assert "apartment" in caught.value.errors
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_restrict_by_warranty_refuses_an_expired_house_on_the_server(estate):
    tickets.create(claim_values(estate, apartment=estate.old_flat.id), actor=estate.buyer,
                   type="claim")  # the option is off: allowed
    settings.set("warranty.restrict_by_warranty", True)
    with pytest.raises(ValidationFailed) as caught:
        tickets.create(claim_values(estate, apartment=estate.old_flat.id), actor=estate.buyer,
                       type="claim")
    assert caught.value.errors["apartment"]
    tickets.create(claim_values(estate), actor=estate.buyer, type="claim")


def test_an_agent_filing_for_the_buyer_is_refused_too(estate, agent):
    settings.set("warranty.restrict_by_warranty", True)
    with pytest.raises(ValidationFailed) as caught:
        tickets.create(claim_values(estate, apartment=estate.old_flat.id,
                                    customer=estate.customer.id), actor=agent, type="claim")
    assert "apartment" in caught.value.errors


def test_choices_offer_only_own_apartments_under_warranty(app, estate):
    from kernel import fieldset

    field = next(f for f in fieldset.all_fields() if f.key == "apartment")
    ttype = tickets.ticket_type("claim")
    offered = fieldset.allowed_choices(field, ttype, estate.buyer, None, None)
    assert {v for v, _ in offered} == {str(estate.flat.id), str(estate.old_flat.id)}
    settings.set("warranty.restrict_by_warranty", True)
    offered = fieldset.allowed_choices(field, ttype, estate.buyer, None, None)
    assert {v for v, _ in offered} == {str(estate.flat.id)}


def test_a_claim_is_not_resolved_while_a_defect_is_open(estate, agent):
    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    first = defects.add(ticket, {"category": "leak", "description": "Под раковиной",
                                 "x": 0.2, "y": 0.3}, actor=estate.buyer)
    second = defects.add(ticket, {"category": "crack", "description": "Трещина"},
                         actor=estate.buyer)
    assert (first.position, second.position) == (1, 2)
    tickets.transition(ticket, "in_repair", actor=agent)
    with pytest.raises(TransitionRefused):
        tickets.transition(ticket, "done", actor=agent)
    defects.set_status(ticket, first, "fixed", actor=agent)
    defects.set_status(ticket, second, "rejected", actor=agent)
    assert defects.progress(ticket) == (2, 2)
    tickets.transition(ticket, "done", actor=agent)
    from kernel.services import history

    kinds = [e.kind for e in history.for_ticket(ticket)]
    assert kinds.count("warranty.defect_added") == 2
    assert kinds.count("warranty.defect_status_changed") == 2


def test_a_buyer_cannot_change_a_defects_status(estate):
    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    defect = defects.add(ticket, {"category": "leak", "description": "Капает"},
                         actor=estate.buyer)
    from kernel.errors import NotFound

    with pytest.raises(NotFound):
        defects.set_status(ticket, defect, "fixed", actor=estate.buyer)


def test_a_mark_needs_a_plan_and_bad_defects_are_named(estate):
    ticket = tickets.create(claim_values(estate, apartment=estate.old_flat.id),
                            actor=estate.buyer, type="claim")
    with pytest.raises(ValidationFailed) as caught:
        defects.add(ticket, {"category": "leak", "description": "x", "x": 0.5, "y": 0.5},
                    actor=estate.buyer)
    assert "x" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        defects.add(ticket, {"category": "nope", "description": "", "x": 2, "y": None},
                    actor=estate.buyer)
    assert {"category", "x"} <= set(caught.value.errors)
    assert defects.for_ticket(ticket) == []


def photo(name="crack.png"):
    return FileStorage(io.BytesIO(png_bytes(64, 48, "grey")), filename=name,
                       content_type="image/png")


def test_the_portal_form_files_a_claim_with_marked_defects(client, estate):
    login(client, estate.buyer)
    page = client.get("/portal/new?type=claim")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-defects' in html and f'value="{estate.flat.id}"' in html
    assert f'value="{estate.other_flat.id}"' not in html
    response = client.post("/portal/new?type=claim", data={
        "subject": "Дефекты после заселения", "apartment": str(estate.flat.id),
        "claim_category": "finishing",
        "defects-0-category": "crack", "defects-0-description": "Трещина в стене",
        "defects-0-x": "0.25", "defects-0-y": "0.40", "defects-0-photos": photo(),
        "defects-1-category": "leak", "defects-1-description": "Течёт батарея",
        "defects-1-x": "0.7", "defects-1-y": "0.6",
        "defects-2-category": "", "defects-2-description": "",  # an empty row is ignored
    }, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    ticket = db.session.scalar(db.select(Ticket))
    found = defects.for_ticket(ticket)
    assert [(d.position, d.category, d.x, d.y) for d in found] == [
        (1, "crack", 0.25, 0.40), (2, "leak", 0.7, 0.6)]
    assert len(found[0].photos) == 1
    card = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-mark="1"' in card and 'data-mark="2"' in card
    assert "Трещина в стене" in card


def test_a_bad_defect_row_refuses_the_whole_claim(client, estate):
    login(client, estate.buyer)
    response = client.post("/portal/new?type=claim", data={
        "subject": "Дефекты", "apartment": str(estate.flat.id), "claim_category": "finishing",
        "defects-0-category": "crack", "defects-0-description": "",
    })
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Defect)) == 0


def test_plans_are_shown_only_to_owners_and_agents(client, estate, agent, app):
    from kernel.services import users

    url = f"/warranty/apartments/{estate.flat.id}/plan"
    assert client.get(url).status_code in (302, 401)
    login(client, estate.buyer)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert client.get(f"/warranty/apartments/{estate.other_flat.id}/plan").status_code == 404
    stranger = users.create({"email": "s@test.example", "password": "stranger-pass-1",
                             "kind": "customer", "name": "S"})
    other = app.test_client()
    login(other, stranger)
    assert other.get(url).status_code == 404
    staff = app.test_client()
    login(staff, agent)
    assert staff.get(url).status_code == 200


def test_agents_move_defects_on_the_card(client, estate, agent):
    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    defect = defects.add(ticket, {"category": "leak", "description": "Капает"},
                         actor=estate.buyer)
    login(client, agent)
    card = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "Капает" in card and ("0 of 1" in card or "0 из 1" in card)
    response = client.post(f"/warranty/tickets/{ticket.id}/defects/{defect.id}/status",
                           data={"status": "fixed"})
    assert response.status_code == 303
    db.session.refresh(defect)
    assert defect.status == "fixed"


def test_an_agent_files_a_claim_for_a_buyer_with_a_defect(client, estate, agent):
    login(client, agent)
    page = client.get("/agent/tickets/new?type=claim").get_data(as_text=True)
    assert "data-defects" in page
    response = client.post("/agent/tickets/new?type=claim", data={
        "type": "claim", "action": "create", "customer_id": str(estate.customer.id),
        "subject": "Звонок: течёт стояк", "apartment": str(estate.flat.id),
        "claim_category": "plumbing",
        "defects-0-category": "leak", "defects-0-description": "Стояк в санузле",
    })
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    claim = db.session.scalar(db.select(Ticket))
    assert claim.customer_id == estate.customer.id
    assert [d.category for d in defects.for_ticket(claim)] == ["leak"]


def test_an_agent_cannot_name_an_apartment_the_customer_does_not_own(client, estate, agent):
    login(client, agent)
    response = client.post("/agent/tickets/new?type=claim", data={
        "type": "claim", "action": "create", "customer_id": str(estate.customer.id),
        "subject": "Чужая квартира", "apartment": str(estate.other_flat.id),
        "claim_category": "plumbing"})
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_without_defects_the_form_has_no_section_and_adding_is_refused(client, estate):
    settings.set("warranty.defects_enabled", False)
    login(client, estate.buyer)
    assert "data-defects" not in client.get("/portal/new?type=claim").get_data(as_text=True)
    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    with pytest.raises(ValidationFailed):
        defects.add(ticket, {"category": "leak", "description": "x"}, actor=estate.buyer)


def test_the_agents_table_filters_claims_by_defect_category_and_house(client, estate, agent):
    leaking = tickets.create(claim_values(estate, subject="Протечка в ванной"),
                             actor=estate.buyer, type="claim")
    defects.add(leaking, {"category": "leak", "description": "Ванна"}, actor=estate.buyer)
    cracked = tickets.create(claim_values(estate, subject="Трещина в зале",
                                          apartment=estate.old_flat.id,
                                          claim_category="structure"),
                             actor=estate.buyer, type="claim")
    defects.add(cracked, {"category": "crack", "description": "Стена"}, actor=estate.buyer)
    login(client, agent)
    page = client.get("/agent/?type=claim&state=all").get_data(as_text=True)
    assert 'name="f.warranty.defect_category"' in page and 'name="f.warranty.house"' in page
    page = client.get("/agent/?type=claim&state=all&f.warranty.defect_category=leak"
                      ).get_data(as_text=True)
    assert "Протечка в ванной" in page and "Трещина в зале" not in page
    page = client.get(f"/agent/?type=claim&state=all&f.warranty.house={estate.expired.id}"
                      ).get_data(as_text=True)
    assert "Трещина в зале" in page and "Протечка в ванной" not in page
    page = client.get("/agent/?type=claim&state=all&f.warranty.claim_category=structure"
                      ).get_data(as_text=True)
    assert "Трещина в зале" in page and "Протечка в ванной" not in page


def test_a_buyer_adds_a_defect_from_the_card_and_another_buyer_cannot(client, app, estate):
    from kernel.services import users

    ticket = tickets.create(claim_values(estate), actor=estate.buyer, type="claim")
    login(client, estate.buyer)
    response = client.post(f"/warranty/tickets/{ticket.id}/defects", data={
        "category": "door", "description": "Не закрывается дверь", "x": "0.5", "y": "0.5",
        "photos": photo("door.png")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert [d.category for d in defects.for_ticket(ticket)] == ["door"]
    stranger = users.create({"email": "s2@test.example", "password": "stranger-pass-1",
                             "kind": "customer", "name": "S"})
    other = app.test_client()
    login(other, stranger)
    assert other.post(f"/warranty/tickets/{ticket.id}/defects", data={
        "category": "door", "description": "x"}).status_code == 404
    assert other.get(f"/portal/tickets/{ticket.id}").status_code == 404
    assert len(defects.for_ticket(ticket)) == 1


def test_a_replaced_plan_is_cleaned_up_and_the_current_one_kept(estate):
    import os
    from datetime import timedelta

    from kernel.services import attachments
    from plugins.warranty import property as prop

    first = estate.flat.plan_sha256
    prop.set_plan(estate.flat, io.BytesIO(png_bytes(500, 400, "ivory")))
    second = estate.flat.plan_sha256
    assert first != second
    store = attachments.store()
    old = os.path.getmtime(store.path(first)) - 3 * 24 * 3600
    for digest in (first, second):
        os.utime(store.path(digest), (old, old))
    attachments.collect_garbage(timedelta(hours=24))
    assert not store.exists(first) and store.exists(second)
