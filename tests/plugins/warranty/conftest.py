"""Fixtures for the warranty plugin's tests: two houses (one whose warranty has
ended), apartments with and without a plan, and a buyer owning some of them."""

from __future__ import annotations

import io
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from warranty_helpers import png_bytes


@pytest.fixture
def plan_png():
    return png_bytes()


@pytest.fixture
def estate(app, customer_user):
    """``houses``: active and expired; ``flat`` (active house, with plan, owned by the
    buyer), ``old_flat`` (expired house, owned), ``other_flat`` (active, not owned),
    ``buyer`` (the customer user) and ``customer`` (their customer record)."""
    from kernel.db import db
    from kernel.models import Customer
    from plugins.warranty import property as prop

    today = date.today()
    active = prop.create_house({"name": "ЖК Солнечный, дом 1", "address": "ул. Солнечная, 1",
                                "warranty_until": (today + timedelta(days=365)).isoformat()})
    expired = prop.create_house({"name": "ЖК Речной, дом 5", "address": "ул. Речная, 5",
                                 "warranty_until": (today - timedelta(days=30)).isoformat()})
    flat = prop.create_apartment({"house_id": active.id, "number": "12", "floor": 3})
    prop.set_plan(flat, io.BytesIO(png_bytes()))
    old_flat = prop.create_apartment({"house_id": expired.id, "number": "7", "floor": 2})
    other_flat = prop.create_apartment({"house_id": active.id, "number": "13", "floor": 3})
    customer = db.session.get(Customer, customer_user.customer_id)
    prop.add_owner(flat, customer.id)
    prop.add_owner(old_flat, customer.id)
    return SimpleNamespace(active=active, expired=expired, flat=flat, old_flat=old_flat,
                           other_flat=other_flat, buyer=customer_user, customer=customer)

