"""A2/A3: a ticket created by hand — default type, manager defaults to the
creator, an exact phone match offers to link an existing customer (JSON for the
page's script, radios without it), "Add customer" with several phones; an agent
without "can see customers" types a name and phone but sees no customers."""

from __future__ import annotations

import pytest

from kernel.builtin import AGENT_PERMISSIONS
from kernel.db import db
from kernel.models import Customer, Ticket
from kernel.services import customers, settings, users
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def ivan(app):
    return customers.create({"name": "Иван Петров", "phones": ["+7 912 345-67-89"]})


@pytest.fixture
def blind_agent(app):
    """An agent whose role lacks "customers.view" (and "customers.edit")."""
    users.save_role("operator", "Operator",
                    [p for p in AGENT_PERMISSIONS if not p.startswith("customers.")],
                    create=True)
    return users.create({"email": "op@test.example", "password": "oper-pass-1",
                         "roles": ["operator"], "name": "Operator"})


def only_ticket() -> Ticket:
    db.session.expire_all()
    rows = db.session.scalars(db.select(Ticket)).all()
    assert len(rows) == 1
    return rows[0]


def test_the_form_has_the_default_type_and_the_creator_as_manager(client, agent):
    login(client, agent)
    html = client.get("/agent/tickets/new").get_data(as_text=True)
    assert 'name="type" value="request"' in html
    assert f'<option selected value="{agent.id}">Agent</option>' in html
    for label in ("Имя покупателя", "Телефон", "Рекламная кампания", "Комментарий",
                  "Срок", "Срочно", "Местоположение", "Ответственный менеджер"):
        assert label in html, label


def test_phone_lookup_json_finds_the_exact_match(client, agent, ivan):
    login(client, agent)
    answer = client.get("/agent/customers/lookup?phone=8 (912) 345-67-89").get_json()
    assert [c["name"] for c in answer["customers"]] == ["Иван Петров"]
    assert answer["customers"][0]["id"] == ivan.id
    assert client.get("/agent/customers/lookup?phone=+79120000000").get_json()[
        "customers"] == []
    bad = client.get("/agent/customers/lookup?phone=abc")
    assert bad.status_code == 422 and bad.get_json()["error"]


def test_create_linking_an_existing_customer_by_phone_without_js(client, agent, ivan):
    login(client, agent)
    data = {"type": "request", "customer_name": "Ваня", "customer_phone": "89123456789",
            "subject": "Не работает домофон", "manager": str(agent.id)}
    # "Find customer by phone": the offer to link, nothing written yet
    html = client.post("/agent/tickets/new", data={**data, "action": "lookup"}).get_data(
        as_text=True)
    assert "Этот телефон принадлежит существующему клиенту" in html
    assert f'name="customer_id" value="{ivan.id}"' in html and "Иван Петров" in html
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    response = client.post("/agent/tickets/new", data={**data, "customer_id": str(ivan.id),
                                                       "action": "create"})
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.customer_id == ivan.id and ticket.assignee_id == agent.id
    assert ticket.value("contact_phone") == "+79123456789"
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1
    card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Иван Петров" in card and "+7 912 345-67-89" in card


def test_create_with_a_new_customer_with_two_phones(client, agent):
    login(client, agent)
    response = client.post("/agent/tickets/new", data={
        "type": "request", "customer_name": "Мария Сидорова", "customer_phone": "+79001112233",
        "add_customer": "y", "more_phones": "8 (495) 123-45-67\n", "subject": "Счёт",
        "campaign": "website", "urgent": "y", "location": "Офис", "manager": str(agent.id),
        "action": "create"})
    assert response.status_code == 303
    ticket = only_ticket()
    customer = db.session.get(Customer, ticket.customer_id)
    assert customer.name == "Мария Сидорова"
    assert [p.number for p in customer.phones] == ["+79001112233", "+74951234567"]
    assert ticket.urgent and ticket.location == "Офис" and ticket.value("campaign") == "website"


def test_a_bad_phone_of_a_new_customer_writes_nothing(client, agent):
    login(client, agent)
    response = client.post("/agent/tickets/new", data={
        "type": "request", "customer_name": "Мария", "customer_phone": "+79001112233",
        "add_customer": "y", "more_phones": "12", "subject": "Счёт", "action": "create"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="more_phones-error"' in html
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_more_phones_without_adding_the_customer_are_refused_not_dropped(client, agent):
    login(client, agent)
    response = client.post("/agent/tickets/new", data={
        "type": "request", "customer_name": "Мария", "customer_phone": "+79001112233",
        "more_phones": "абв\n+7 495 123-45-67", "subject": "Счёт", "action": "create"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html.split('id="more_phones-error"', 1)[1].split("</", 1)[0]
    assert "Добавить клиента в базу" in error
    assert "абв" in html  # what was typed is still there
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_name_and_phone_without_a_customer_stay_on_the_ticket(client, agent):
    login(client, agent)
    response = client.post("/agent/tickets/new", data={
        "type": "request", "customer_name": "Мария", "customer_phone": "+79001112233",
        "subject": "Счёт", "action": "create"})
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.customer_id is None
    assert ticket.value("contact_name") == "Мария" and ticket.value("contact_phone")


def test_a_second_customer_with_a_taken_phone_is_warned_and_offered_the_first(
        client, agent, ivan):
    login(client, agent)
    data = {"type": "request", "customer_name": "Иван-2", "customer_phone": "+79001112233",
            "add_customer": "y", "more_phones": "8 912 345-67-89", "subject": "Счёт",
            "action": "create"}
    response = client.post("/agent/tickets/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html.split('id="customer_phone-error"', 1)[1]
    assert "Этот телефон уже есть у другого клиента" in error
    assert f'name="customer_id" value="{ivan.id}"' in html  # the offer to link Ivan
    assert 'name="add_anyway"' in html
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1
    response = client.post("/agent/tickets/new", data={**data, "add_anyway": "y"})
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 2


def test_a_missing_subject_is_refused_beside_the_field(client, agent, ivan):
    login(client, agent)
    response = client.post("/agent/tickets/new", data={
        "type": "request", "customer_name": "Мария", "customer_phone": "+79001112233",
        "add_customer": "y", "subject": "", "action": "create"})
    assert response.status_code == 422
    assert 'id="subject-error"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1  # only Ivan


def test_agent_without_customers_view_sees_no_customers(client, blind_agent, ivan):
    login(client, blind_agent)
    html = client.get("/agent/tickets/new").get_data(as_text=True)
    assert "Найти клиента по телефону" not in html and "data-lookup-url" not in html
    assert "Добавить клиента" not in html
    assert client.get("/agent/customers/lookup?phone=89123456789").status_code == 403
    data = {"type": "request", "customer_name": "Ваня", "customer_phone": "89123456789",
            "subject": "Домофон"}
    html = client.post("/agent/tickets/new", data={**data, "action": "lookup"}).get_data(
        as_text=True)
    assert "Иван Петров" not in html
    # a forged link to an existing customer is ignored
    response = client.post("/agent/tickets/new", data={**data, "customer_id": str(ivan.id),
                                                       "action": "create"})
    assert response.status_code == 303
    ticket = only_ticket()
    assert ticket.customer_id is None
    assert ticket.value("contact_name") == "Ваня"
    assert ticket.value("contact_phone") == "+79123456789"
    card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Иван Петров" not in card and "Ваня" in card


def test_the_default_type_setting_is_used(client, agent):
    settings.set("kernel.default_ticket_type", "request")
    login(client, agent)
    for url in ("/agent/tickets/new", "/agent/tickets/new?type=nope"):
        assert 'name="type" value="request"' in client.get(url).get_data(as_text=True)


def test_without_customers_view_the_table_card_and_board_hide_the_customer(
        client, agent, blind_agent, ivan, make_ticket):
    ticket = make_ticket(actor=agent, subject="Домофон", customer=ivan.id)
    login(client, agent)
    assert "Иван Петров" in client.get("/agent/").get_data(as_text=True)
    login(client, blind_agent)
    for url in ("/agent/", f"/agent/tickets/{ticket.id}", "/agent/board"):
        html = client.get(url).get_data(as_text=True)
        assert ticket.number in html and "Иван Петров" not in html, url
