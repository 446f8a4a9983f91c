"""docs/warranty.md tells the truth: its example rule routes a plumbing claim as
it says, its CSV sample imports, and every setting, condition, event kind and
API path it names exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kernel import runtime
from kernel.db import db
from kernel.models import OutboxMessage
from kernel.services import tickets, users

DOC = (Path(__file__).resolve().parents[3] / "docs" / "warranty.md").read_text(encoding="utf-8")


def block(kind: str) -> str:
    found = re.findall(rf"```{kind}\n(.*?)```", DOC, flags=re.S)
    assert found, kind
    return found[0]


@pytest.mark.plugins("helpdesk", "triggers", "warranty")
def test_the_example_rule_routes_a_plumbing_claim(app, estate):
    from plugins.triggers import service

    users.save_role("plumbers", "Plumbers", ["tickets.view"], create=True)
    plumber = users.create({"email": "plumber@test.example", "password": "plumber-pass-1",
                            "roles": ["plumbers"], "name": "Plumber"})
    service.create(json.loads(block("json")))
    other = tickets.create({"subject": "Окно", "apartment": estate.flat.id,
                            "claim_category": "windows_doors"}, actor=estate.buyer, type="claim")
    claim = tickets.create({"subject": "Течёт кран", "apartment": estate.flat.id,
                            "claim_category": "plumbing"}, actor=estate.buyer, type="claim")
    assert claim.assignee_id == plumber.id and other.assignee_id is None
    letters = db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.recipient == "site.manager@example.ru")).all()
    assert len(letters) == 1


def test_the_csv_sample_imports(app, estate):
    from kernel.services import customers
    from plugins.warranty import importer
    from plugins.warranty.models import Apartment, House, Ownership

    customers.create({"name": "Пётр Лебедев", "phones": ["+7 912 345-67-89"]})
    users.create({"email": "buyer@example.com", "password": "buyer-pass-1",
                  "kind": "customer", "name": "Ольга"})
    result = importer.import_csv(block("csv"))
    assert result.ok, result.errors
    house = db.session.scalar(db.select(House).where(House.name.like("%Северный парк%")))
    numbers = {a.number for a in db.session.scalars(
        db.select(Apartment).where(Apartment.house_id == house.id))}
    assert numbers == {"41", "42"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Ownership)) >= 3


def test_named_things_exist(app):
    reg = runtime.host().registry
    for key in ("warranty.restrict_by_warranty", "warranty.defects_enabled"):
        assert key in reg.settings and f"`{key}`" in DOC
    for key in reg.trigger_conditions:
        if key.startswith("warranty."):
            assert f"`{key}`" in DOC, key
    for key in reg.event_kinds:
        if key.startswith("warranty."):
            assert f"`{key}`" in DOC, key
    for key in reg.ticket_filters:
        if key.startswith("warranty."):  # other plugins' filters are in their own guides
            assert key in DOC, key
    spec = app.test_client().get("/api/v1/openapi.json").json
    paths = {p.removeprefix("/api/v1/warranty") for p in spec["paths"]
             if p.startswith("/api/v1/warranty")}
    documented = set(re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE)(?:/[A-Z]+)* (/[^`\s]*)", DOC))
    for path in paths:
        generic = re.sub(r"\{[^}]+\}", "{}", path)
        assert any(re.sub(r"\{[^}]+\}", "{}", d.split("?")[0]) == generic
                   for d in documented), path
