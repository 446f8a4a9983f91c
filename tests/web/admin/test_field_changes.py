"""A custom field's ticket types, required flag and audience change after creation
(K4); making it required says what happens to tickets that have no value."""

from __future__ import annotations

import pytest

from kernel import fieldset
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.services import fields as field_service
from kernel.services import tickets
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


@pytest.fixture
def floor(admin):
    return field_service.create_custom({"key": "floor", "type": "text", "label": "Этаж",
                                        "ticket_types": []}, actor=admin)


def form_data(**overrides):
    data = {"label": "Этаж", "help_text": "", "order": "100", "shown_on_card": "y"}
    data.update(overrides)
    return data


def test_types_and_audience_change_after_creation(admin_client, floor):
    page = admin_client.get("/admin/fields/floor").get_data(as_text=True)
    assert 'name="ticket_types"' in page
    response = admin_client.post("/admin/fields/floor", data=form_data(
        ticket_types=["request"], shown_to_customer="y"))
    assert response.status_code == 303
    db.session.expire_all()
    row = field_service.definition("floor")
    assert row.ticket_types == ["request"] and row.shown_to_customer is True
    bad = admin_client.post("/admin/fields/floor", data=form_data(ticket_types=["nope"]))
    assert bad.status_code == 422 and "nope" in bad.get_data(as_text=True)
    assert field_service.definition("floor").ticket_types == ["request"]


def test_a_plugins_field_keeps_its_types(admin_client, admin):
    page = admin_client.get("/admin/fields/contract_number").get_data(as_text=True)
    assert 'name="ticket_types"' not in page
    with pytest.raises(ValidationFailed):
        field_service.set_ticket_types("contract_number", [], actor=admin)


def test_making_it_required_tells_what_happens_to_tickets_without_a_value(admin_client,
                                                                          floor, agent):
    tickets.create({"subject": "Без этажа"}, type="request", actor=agent)
    tickets.create({"subject": "С этажом", "floor": "3"}, type="request", actor=agent)
    assert field_service.tickets_without_value("floor") == 1
    asked = admin_client.post("/admin/fields/floor", data=form_data(required="y"))
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "У 1 заявки нет значения этого поля" in html and 'name="required_confirmed"' in html
    assert field_service.definition("floor").required is False  # nothing half-written
    done = admin_client.post("/admin/fields/floor", data=form_data(required="y",
                                                                   required_confirmed="y"))
    assert done.status_code == 303
    db.session.expire_all()
    assert next(f for f in fieldset.all_fields() if f.key == "floor").required is True
