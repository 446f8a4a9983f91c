"""Fixtures for the orders plugin's tests: a second customer with an account, a
request of the signed-in customer and the order made from it."""

from __future__ import annotations

import pytest


@pytest.fixture
def other_customer(app):
    from kernel.services import users

    return users.create({"email": "other@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other"})


@pytest.fixture
def request_ticket(app, customer_user):
    from plugins.orders import service

    return service.submit_request({"subject": "Coffee machine", "details": "De'Longhi, 1 pc",
                                   "address": "Lesnaya 5", "budget": "300 EUR"},
                                  actor=customer_user)


@pytest.fixture
def order(app, agent, request_ticket):
    from plugins.orders import service

    return service.convert(request_ticket, "orders_delivery", actor=agent)
