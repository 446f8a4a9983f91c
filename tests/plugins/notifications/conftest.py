"""Fixtures of the notifications tests: a customer with a portal account, a
customer known only by e-mail, a second agent."""

import pytest

from kernel.services import customers, users


@pytest.fixture
def english_buyer(app):
    return users.create({"email": "ann@buyer.example", "password": "buyer-pass-1",
                         "kind": "customer", "name": "Ann", "locale": "en",
                         "timezone": "Europe/London"})


@pytest.fixture
def mail_only_customer(app):
    return customers.create({"name": "Пётр Иванов", "emails": ["petr@mail.example",
                                                               "office@mail.example"]})


@pytest.fixture
def colleague(app):
    return users.create({"email": "colleague@test.example", "password": "agent-pass-1",
                         "roles": ["agent"], "name": "Colleague", "locale": "en"})
