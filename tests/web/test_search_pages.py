"""Full-text search through the doors (issue 14 item 5): the agents' table, the
customer's "my tickets" and the API list, each with the `q` parameter."""

from __future__ import annotations

import re

import pytest

from kernel.services import customers, messages, tickets, tokens
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def found(app, agent, customer_user):
    other = customers.create({"name": "Other Buyer"})
    mine = tickets.create({"subject": "Заявка на ремонт домофона",
                           "customer": customer_user.customer_id}, actor=agent)
    theirs = tickets.create({"subject": "Заявка на замену замка", "customer": other.id},
                            actor=agent)
    english = tickets.create({"subject": "Printer", "customer": customer_user.customer_id},
                             actor=agent)
    messages.post(english, "The printers keep jamming", actor=agent)
    messages.post(mine, "Проверить гарантию домофона", actor=agent, internal=True)
    return {"mine": mine, "theirs": theirs, "english": english}


def agent_numbers(html: str) -> list[str]:
    return re.findall(r'<tr data-ticket="([^"]+)"', html)


def portal_numbers(html: str) -> list[str]:
    return re.findall(r'class="ticket-number" href="/portal/tickets/\d+">([^<]+)<', html)


def test_agents_table_searches_word_forms_and_messages(client, agent, found):
    login(client, agent)
    page = client.get("/agent/?q=заявки&state=all")
    assert page.status_code == 200
    assert sorted(agent_numbers(page.get_data(as_text=True))) == sorted(
        [found["mine"].number, found["theirs"].number])
    html = client.get("/agent/?q=jammed&state=all").get_data(as_text=True)
    assert agent_numbers(html) == [found["english"].number]
    html = client.get("/agent/?q=гарантии&state=all").get_data(as_text=True)
    assert agent_numbers(html) == [found["mine"].number]  # an internal note, for agents
    html = client.get('/agent/?q="OR (NEAR"*&state=all').get_data(as_text=True)
    assert agent_numbers(html) == []


def test_portal_finds_only_the_customers_own_readable_text(client, customer_user, found):
    login(client, customer_user)
    html = client.get("/portal/?q=заявки").get_data(as_text=True)
    assert portal_numbers(html) == [found["mine"].number]  # not the other customer's
    assert portal_numbers(client.get("/portal/?q=гарантии").get_data(as_text=True)) == []
    html = client.get("/portal/?q=printers jam").get_data(as_text=True)
    assert portal_numbers(html) == [found["english"].number]


def test_api_list_q(client, agent, customer_user, found):
    agent_h = {"Authorization": f"Bearer {tokens.create(agent, 't')[1]}"}
    customer_h = {"Authorization": f"Bearer {tokens.create(customer_user, 't')[1]}"}
    listed = client.get("/api/v1/tickets?q=замков", headers=agent_h).json
    assert [t["number"] for t in listed["items"]] == [found["theirs"].number]
    listed = client.get("/api/v1/tickets?q=заявки", headers=customer_h).json
    assert [t["number"] for t in listed["items"]] == [found["mine"].number]
    listed = client.get("/api/v1/tickets?q=гарантию", headers=customer_h).json
    assert listed["items"] == []
    bad = client.get("/api/v1/tickets?q=" + "x" * 201, headers=agent_h)
    assert bad.status_code == 422 and "q" in bad.get_data(as_text=True)
