"""The warranty plugin's demo data (loaded with every built-in plugin) and the
floor-plan drawing it uses."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from PIL import Image

from kernel import demo
from kernel.db import db
from kernel.models import Attachment, Customer, Ticket
from kernel.services import users
from plugins.warranty import CLAIM_TYPE, defects, plans
from plugins.warranty import property as prop
from plugins.warranty.models import Apartment, Defect, DefectPhoto, House, Ownership


def host(app):
    return app.extensions["hookdesk"]


def claims() -> list[Ticket]:
    return [t for t in db.session.scalars(sa.select(Ticket).order_by(Ticket.id))
            if t.type.key == CLAIM_TYPE]


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (House, Apartment, Ownership, Defect, DefectPhoto, Ticket, Attachment)}


@pytest.fixture
def loaded(app):
    demo.load(host(app))
    db.session.expire_all()
    return app


def test_two_houses_one_of_them_out_of_warranty(loaded):
    houses = {h.name: h for h in prop.houses()}
    assert set(houses) == {"ЖК «Северный парк», корпус 1", "ЖК «Речной квартал», дом 5"}
    today = date.today()
    assert houses["ЖК «Северный парк», корпус 1"].warranty_active(today)
    assert not houses["ЖК «Речной квартал», дом 5"].warranty_active(today)
    assert all(h.address.startswith("г. ") for h in houses.values())


def test_every_apartment_has_a_png_plan_and_floors_differ(loaded):
    for house in prop.houses():
        flats = prop.apartments(house)
        assert len(flats) == 6
        assert len({a.floor for a in flats}) == 6
        for apartment in flats:
            assert apartment.has_plan and apartment.plan_content_type == "image/png"
            with prop.open_plan(apartment) as fh, Image.open(fh) as image:
                assert image.format == "PNG"
                assert image.size == (apartment.plan_width, apartment.plan_height) == (900, 600)


def test_the_demo_buyer_owns_one_apartment_in_each_house(loaded):
    buyer = users.by_email("customer@example.com")
    owned = prop.apartments_of(db.session.get(Customer, buyer.customer_id))
    assert sorted(a.house.name for a in owned) == sorted(h.name for h in prop.houses())
    others = db.session.scalar(sa.select(sa.func.count(sa.distinct(Ownership.customer_id)))
                               .where(Ownership.customer_id != buyer.customer_id))
    assert others >= 2


def test_claims_with_defects_in_every_status(loaded):
    found = claims()
    assert 4 <= len(found) <= 6
    statuses = {t.status.key for t in found}
    assert {"new", "in_repair", "done", "rejected"} <= statuses
    assert len({t.values["claim_category"] for t in found}) == len(found)
    rows = db.session.scalars(sa.select(Defect)).all()
    assert {d.status for d in rows} == {"new", "in_progress", "fixed", "rejected"}
    for ticket in found:
        listed = defects.for_ticket(ticket)
        assert 1 <= len(listed) <= 3
        apartment = db.session.get(Apartment, int(ticket.values["apartment"]))
        assert ticket.customer_id in {c.id for c in prop.owners(apartment)}
        for defect in listed:
            assert defect.marked and 0 < defect.x < 1 and 0 < defect.y < 1
            assert defect.description.strip()
    repairing = next(t for t in found if t.status.key == "in_repair")
    done, total = defects.progress(repairing)
    assert 0 < done < total


def test_the_resolved_claim_has_no_open_defects(loaded):
    resolved = [t for t in claims() if t.status.key == "done"]
    assert resolved
    for ticket in resolved:
        assert defects.open_count(ticket) == 0
        assert {d.status for d in defects.for_ticket(ticket)} <= {"fixed", "rejected"}


def test_a_claim_carries_photos_of_its_defects(loaded):
    photos = db.session.scalars(sa.select(DefectPhoto)).all()
    assert photos
    for photo in photos:
        attachment = db.session.get(Attachment, photo.attachment_id)
        assert attachment.content_type.startswith("image/")


def test_the_demo_buyer_files_through_the_portal(loaded):
    buyer = users.by_email("customer@example.com")
    mine = [t for t in claims() if t.customer_id == buyer.customer_id]
    assert mine and all(t.author_id == buyer.id for t in mine)


def test_loading_the_demo_again_adds_nothing(loaded):
    before = counts()
    demo.load(host(loaded))
    db.session.expire_all()
    assert counts() == before


def test_restrict_by_warranty_is_left_at_its_default(loaded):
    assert prop.restricted() is False


# -- the floor-plan drawing -------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(plans.LAYOUTS))
def test_draw_plan_gives_the_same_png_of_the_asked_size(key):
    first = plans.draw_plan(plans.LAYOUTS[key], width=640, height=480)
    assert first == plans.draw_plan(plans.LAYOUTS[key], width=640, height=480)
    with Image.open(io.BytesIO(first)) as image:
        assert image.format == "PNG" and image.size == (640, 480)
        colours = image.convert("L").getextrema()
    assert colours[0] < 80 and colours[1] > 240  # dark walls on light paper


def test_layouts_differ_and_rooms_tile_each_apartment():
    drawn = {plans.draw_plan(layout) for layout in plans.LAYOUTS.values()}
    assert len(drawn) == len(plans.LAYOUTS)
    for layout in plans.LAYOUTS.values():
        inside = [r for r in layout["rooms"] if not r.get("balcony")]
        x0 = min(r["rect"][0] for r in inside)
        y0 = min(r["rect"][1] for r in inside)
        x1 = max(r["rect"][2] for r in inside)
        y1 = max(r["rect"][3] for r in inside)
        assert sum(plans.area(r) for r in inside) == pytest.approx((x1 - x0) * (y1 - y0), 0.01)


def test_mark_at_falls_inside_the_picture_and_the_room():
    layout = plans.TWO_ROOM
    left = plans.mark_at(layout, "kitchen", 0.1, 0.5)
    right = plans.mark_at(layout, "bedroom", 0.9, 0.5)
    assert 0 < left[0] < right[0] < 1 and 0 < left[1] < 1
    with pytest.raises(ValueError, match="room"):
        plans.mark_at(layout, "garage")


@pytest.mark.parametrize("kwargs, field", [
    ({"width": 10}, "width"), ({"height": 99999}, "height"), ({"width": 900.5}, "width"),
])
def test_draw_plan_refuses_a_bad_size(kwargs, field):
    with pytest.raises(ValueError, match=field):
        plans.draw_plan(plans.STUDIO, **kwargs)


def test_draw_plan_refuses_a_bad_layout():
    with pytest.raises(ValueError, match="rooms_layout"):
        plans.draw_plan({"rooms": []})
    with pytest.raises(ValueError, match=r"rooms_layout\.rooms\.0\.rect"):
        plans.draw_plan({"rooms": [{"name": "Кухня", "rect": (3, 0, 1, 2)}]})
    with pytest.raises(ValueError, match="glyph"):
        plans.draw_plan({"rooms": [{"name": "Kitchen", "rect": (0, 0, 3, 2)}]})
