"""docs/autoservice.md tells the truth: its example rule adds the note it says,
the precedence it states is the code's, and every condition, event kind, filter
and API path it names exists (and every one of the plugin's is named)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from autoservice_helpers import complete, contact

from kernel import runtime
from kernel.db import db
from kernel.models import Message

DOC = (Path(__file__).resolve().parents[3] / "docs" / "autoservice.md").read_text(
    encoding="utf-8")


def test_the_example_rule_adds_its_note(shop):
    from plugins.triggers import service

    rule = json.loads(re.findall(r"```json\n(.*?)```", DOC, flags=re.S)[0])
    service.create(rule)
    c = contact(shop.agent, shop.ivan)
    complete(c, shop.agent, category="parts", outcome="parts.refused")
    notes = [m.body for m in db.session.scalars(db.select(Message).where(
        Message.ticket_id == c.id))]
    assert notes == ["Отказ — перезвонить клиенту через неделю"]


def test_the_documented_precedence_is_the_codes():
    from plugins.autoservice import classify

    assert classify.PRECEDENCE == ("order_status", "continuation", "repeat")
    assert "in the order 1, 2, 3" in DOC


def test_named_things_exist(app):
    reg = runtime.host().registry
    for group in (reg.trigger_conditions, reg.event_kinds, reg.ticket_filters):
        for key in group:
            if key.startswith("autoservice."):
                assert f"`{key}`" in DOC, key
    for key in re.findall(r"`(autoservice\.[a-z_]+)`", DOC):
        assert (key in reg.trigger_conditions or key in reg.event_kinds
                or key in reg.ticket_filters or key in reg.permissions
                or key in ("autoservice.categories", "autoservice.outcomes",
                           "autoservice.progress")), key
    spec = app.test_client().get("/api/v1/openapi.json").json
    paths = {p.removeprefix("/api/v1/autoservice") for p in spec["paths"]
             if p.startswith("/api/v1/autoservice")}
    documented = set(re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE)(?:, (?:GET|PUT|POST))* "
                                r"(/[^`\s]*)", DOC))
    assert paths
    for path in paths:
        generic = re.sub(r"\{[^}]+\}", "{}", path)
        assert any(re.sub(r"<[^>]+>", "{}", d.split("?")[0]) == generic
                   for d in documented), path
