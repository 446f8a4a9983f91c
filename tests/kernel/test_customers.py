"""K9 / A2 / A3: customers with several normalized phones, the exact-phone lookup,
and the "can see customers" permission."""

import pytest

from kernel import signals
from kernel.db import db
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import CustomerPhone, Role
from kernel.services import customers, tickets, users
from kernel.services.uow import unit_of_work


@pytest.fixture
def clerk(app):
    """An agent whose role lacks "customers.view" (seed 001: «Может видеть покупателей»)."""
    with unit_of_work():
        db.session.add(Role(key="clerk", name="Clerk",
                            permissions=["tickets.view", "tickets.create", "tickets.edit"]))
    return users.create({"email": "clerk@test.example", "password": "clerk-pass-1",
                         "roles": ["clerk"], "name": "Clerk"})


def test_phones_are_normalized_deduplicated_and_kept_as_typed(app):
    customer = customers.create({
        "name": "  Пётр Иванов ", "contract_number": "Д-17",
        "phones": ["8 (912) 345-67-89", "+7 912 345 67 89", "", "+7 495 123-45-67"],
        "emails": ["Petr@Example.com", "petr@example.com", "work@example.com"],
    })
    assert customer.name == "Пётр Иванов"
    assert [(p.number, p.raw) for p in customer.phones] == [
        ("+79123456789", "8 (912) 345-67-89"), ("+74951234567", "+7 495 123-45-67")]
    assert [e.email for e in customer.emails] == ["petr@example.com", "work@example.com"]


def test_every_problem_of_a_new_customer_is_reported_at_once(app):
    with pytest.raises(ValidationFailed) as caught:
        customers.create({"name": "  ", "phones": ["+7 912 345-67-89", "абв"],
                          "emails": ["not-an-address"]})
    errors = caught.value.errors
    assert set(errors) == {"name", "phones.1", "emails.0"}
    assert not db.session.scalars(db.select(CustomerPhone)).all()  # nothing half-written


@pytest.mark.app_config(HOOKDESK_DEFAULT_REGION="KZ")
def test_numbers_without_a_country_are_read_in_the_deployments_region(app):
    customer = customers.create({"name": "Aigerim", "phones": ["8 701 123 4567"]})
    assert [p.number for p in customer.phones] == ["+77011234567"]


def test_find_by_phone_matches_the_exact_number_only(app, agent):
    ivan = customers.create({"name": "Ivan", "phones": ["+7 912 345-67-89"]})
    near = customers.create({"name": "Near miss", "phones": ["+7 912 345-67-80"]})
    both = customers.create({"name": "Two phones", "phones": ["+7 903 111-22-33",
                                                              "89123456789"]})
    for typed in ("8 912 345 67 89", "+7 (912) 345-67-89", "79123456789", "9123456789"):
        assert customers.find_by_phone(typed, agent) == [ivan, both], typed
    assert customers.find_by_phone("+7 912 345-67-80", agent) == [near]
    assert customers.find_by_phone("+7 916 000-00-00", agent) == []
    for partial in ("345-67-89", "912345", ""):
        with pytest.raises(ValidationFailed) as failed:
            customers.find_by_phone(partial, agent)
        assert set(failed.value.errors) == {"phone"}


def test_updating_phones_replaces_them_and_reports_the_change(app):
    customer = customers.create({"name": "Ivan", "phones": ["+7 912 345-67-89"]})
    seen = []
    signals.customer_updated.connect(lambda sender, **kw: seen.append(kw["changes"]), weak=False)
    try:
        changes = customers.update(customer, {"phones": ["8 903 111 22 33"], "note": "VIP"})
        assert customers.update(customer, {"phones": ["+7 903 111-22-33"]}) == {}
    finally:
        signals.customer_updated.receivers.clear()
    assert changes == {"note": ["", "VIP"], "phones": [["+79123456789"], ["+79031112233"]]}
    assert seen == [changes]
    assert db.session.scalars(db.select(CustomerPhone.number)).all() == ["+79031112233"]


def test_customers_are_visible_only_with_the_permission(app, agent, admin, clerk):
    customer = customers.create({"name": "Ivan", "phones": ["+7 912 345-67-89"]})
    assert customers.get(customer.id, agent) is customer
    assert customers.get(customer.id, admin) is customer
    with pytest.raises(PermissionDenied) as denied:
        customers.get(customer.id, clerk)
    assert "Can see customers" in denied.value.message
    with pytest.raises(PermissionDenied):
        customers.find_by_phone("+7 912 345-67-89", clerk)
    with pytest.raises(PermissionDenied):
        customers.create({"name": "Someone"}, actor=clerk)
    with pytest.raises(PermissionDenied):
        customers.update(customer, {"name": "Renamed"}, actor=clerk)
    assert customer.name == "Ivan"
    with pytest.raises(NotFound):
        customers.get(99999, agent)


def test_granting_the_permission_to_a_role_opens_customers(app, clerk):
    customer = customers.create({"name": "Ivan"})
    role = db.session.scalar(db.select(Role).where(Role.key == "clerk"))
    with unit_of_work():
        role.permissions = [*role.permissions, "customers.view"]
    assert customers.get(customer.id, clerk) is customer


def test_a_portal_account_sees_only_its_own_customer(app, customer_user):
    other = customers.create({"name": "Somebody else"})
    assert customers.get(customer_user.customer_id, customer_user) is customer_user.customer
    with pytest.raises(NotFound):  # not "forbidden": its existence does not leak
        customers.get(other.id, customer_user)
    with pytest.raises(PermissionDenied):
        customers.find_by_phone("+7 912 345-67-89", customer_user)


def test_open_tickets_of_a_customer(app, agent):
    customer = customers.create({"name": "Ivan"})
    first = tickets.create({"subject": "a", "customer": customer.id}, actor=agent)
    second = tickets.create({"subject": "b", "customer": customer.id}, actor=agent)
    tickets.create({"subject": "someone else's"}, actor=agent)
    tickets.transition(second, "resolved", actor=agent)
    assert customers.open_tickets(customer) == [first]


def test_find_by_email_matches_own_addresses_and_portal_logins(app, agent):
    listed = customers.create({"name": "Анна", "phones": ["+7 912 000-00-01"],
                               "emails": ["Anna@Example.com"]})
    account = users.create({"email": "login@example.com", "password": "buyer-pass-1",
                            "kind": "customer", "name": "Борис"})
    assert customers.find_by_email(" anna@example.COM ", agent) == [listed]
    assert [c.id for c in customers.find_by_email("LOGIN@example.com", agent)] == [
        account.customer_id]
    assert customers.find_by_email("nobody@example.com", agent) == []
    assert customers.find_by_email("", agent) == []
    blind = users.create({"email": "blind@test.example", "password": "blind-pass-1",
                          "roles": [], "name": "Blind"})
    with pytest.raises(PermissionDenied):
        customers.find_by_email("anna@example.com", blind)
