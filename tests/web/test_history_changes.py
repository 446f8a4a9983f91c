"""History shows what changed (K6): old → new for every field change, formatted by
type in the reader's language, on the agents' card, the customer's card and the API;
a hidden field's change never reaches a customer; the assignment reads from → to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kernel.services import customers, tickets, tokens, users
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def buyer(app):
    customer = customers.create({"name": "Пётр Покупатель"})
    return users.create({"email": "peter@test.example", "password": "buyer-pass-1",
                         "kind": "customer", "name": "Пётр", "customer_id": customer.id,
                         "locale": "en"})


@pytest.fixture
def olga(app):
    return users.create({"email": "olga@test.example", "password": "olga-pass-1",
                         "roles": ["agent"], "name": "Ольга"})


@pytest.fixture
def changed(make_ticket, agent, buyer, olga):
    ticket = make_ticket(actor=agent, subject="Течёт кран", customer=buyer.customer_id,
                         queue="technical", priority="normal")
    tickets.update(ticket, {"priority": "high", "urgent": True, "location": "Подвал",
                            "deadline": datetime(2026, 12, 5, 9, 0, tzinfo=UTC)}, actor=agent)
    tickets.assign(ticket, agent, actor=agent)
    tickets.assign(ticket, olga, actor=agent)
    tickets.assign(ticket, None, actor=olga)
    return ticket


def history_html(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return html.split('id="history', 1)[1]


def test_the_agent_card_shows_old_and_new_values(client, agent, changed):
    login(client, agent)
    history = history_html(client, f"/agent/tickets/{changed.id}")
    assert "Приоритет:</span> <s>Обычный</s> → <b>Высокий</b>" in history  # choice label
    assert "Срочно:</span> <s>Нет</s> → <b>Да</b>" in history  # a flag as Yes/No
    assert "Местоположение:</span> <s>—</s> → <b>Подвал</b>" in history
    assert "2026" in history.split('data-field="deadline"', 1)[1].split("</li>", 1)[0]
    # the assignment reads from → to, the actor apart
    assert "Ответственный:</span> <s>Agent</s> → <b>Ольга</b>" in history
    assert "Ответственный:</span> <s>Ольга</s> → <b>Никто</b>" in history


def test_the_customer_card_leaves_hidden_fields_out(client, buyer, changed):
    login(client, buyer)
    history = history_html(client, f"/portal/tickets/{changed.id}")
    assert "Priority:</span> <s>Normal</s> → <b>High</b>" in history
    assert "Urgent" not in history and "Location" not in history and "Подвал" not in history
    assert "Deadline" not in history


def test_the_api_history_carries_the_changes_as_read(client, agent, buyer, changed):
    _row, secret = tokens.create(agent, "t")
    events = client.get(f"/api/v1/tickets/{changed.number}/history",
                        headers={"Authorization": f"Bearer {secret}"}).get_json()
    shown = [c for e in events for c in e["shown"]]
    assert {"field": "priority", "label": "Приоритет", "old": "Обычный",
            "new": "Высокий"} in shown
    assert {"field": "assignee", "label": "Ответственный", "old": "Agent",
            "new": "Ольга"} in shown
    created = next(e for e in events if e["kind"] == "created")
    assert created["shown"] == []

    _row, secret = tokens.create(buyer, "t")
    events = client.get(f"/api/v1/tickets/{changed.number}/history",
                        headers={"Authorization": f"Bearer {secret}"}).get_json()
    shown = [c for e in events for c in e["shown"]]
    assert {"field": "priority", "label": "Priority", "old": "Normal", "new": "High"} in shown
    assert not {"urgent", "location", "deadline", "assignee"} & {c["field"] for c in shown}
