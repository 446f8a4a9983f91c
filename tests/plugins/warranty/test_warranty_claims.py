"""Claims through the service layer and the portal: the apartment is only the
buyer's own (W2), the warranty option is enforced on the server (W3), defects
come with the claim in one transaction (W4), and a claim is not resolved while
a defect is open."""

from __future__ import annotations

import io

import pytest
from conftest import png_bytes  # noqa: I001 - the plugin's test helpers
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
    kinds = [e.kind for e in ticket.events] if hasattr(ticket, "events") else []
    assert not kinds or "warranty.defect_status_changed" in kinds


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
    assert "Капает" in card and "0 of 1" in card or "0 из 1" in card
    response = client.post(f"/warranty/tickets/{ticket.id}/defects/{defect.id}/status",
                           data={"status": "fixed"})
    assert response.status_code == 303
    db.session.refresh(defect)
    assert defect.status == "fixed"
