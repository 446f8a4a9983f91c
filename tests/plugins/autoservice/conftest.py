"""Fixtures for the auto-service plugin's tests: an operator (agent), a second
agent, customers with phones, and helpers to open contacts and move their
history in time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def shop(app, agent, admin):
    from kernel.services import customers, users

    second = users.create({"email": "second@test.example", "password": "agent-pass-2",
                           "roles": ["agent"], "name": "Second Agent"})
    ivan = customers.create({"name": "Иван Петров", "phones": ["+7 912 000-11-22"]})
    olga = customers.create({"name": "Ольга Смирнова", "phones": ["+7 916 555-44-33"]})
    return SimpleNamespace(agent=agent, admin=admin, second=second, ivan=ivan, olga=olga)
