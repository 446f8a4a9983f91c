"""P4: the customer's own tickets — All / Open / Closed, sorting by the shown
columns, search by number, subject or date, the page size of P2, the columns of P7."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kernel.services import fields as fields_service
from kernel.services import tickets, users

pytestmark = pytest.mark.plugins("helpdesk")


def numbers(html: str) -> list[str]:
    """Ticket numbers in the list, top to bottom."""
    return re.findall(r'class="ticket-number" href="/portal/tickets/\d+">([^<]+)<', html)


def page(client, query: str = "") -> str:
    response = client.get("/portal/" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def own(customer, other_customer, agent):
    """Three tickets of the customer (one resolved) and one of another customer."""
    made = [tickets.create({"subject": s, "queue": q}, actor=customer)
            for s, q in [("Invoice missing", "billing"), ("Cannot log in", "technical"),
                         ("Change of tariff", "general")]]
    tickets.transition(made[2], "resolved", actor=agent)
    tickets.create({"subject": "Someone else's secret"}, actor=other_customer)
    return made


def test_an_empty_list_invites_to_write_the_first_ticket(client, customer):
    html = page(client)
    assert "No tickets yet" in html
    assert 'class="btn btn--primary" href="/portal/new"' in html


def test_only_the_customers_own_tickets_are_listed(client, own):
    html = page(client)
    assert sorted(numbers(html)) == sorted(t.number for t in own)
    assert "Someone else" not in html


def test_filter_all_open_closed(client, own):
    assert len(numbers(page(client))) == 3
    assert sorted(numbers(page(client, "?state=open"))) == sorted([own[0].number, own[1].number])
    closed = page(client, "?state=closed")
    assert numbers(closed) == [own[2].number]
    assert 'badge--success' in closed  # the resolved status badge
    assert len(numbers(page(client, "?state=bogus"))) == 3  # nonsense shows all


def test_sort_by_a_shown_column_both_ways(client, own):
    ascending = numbers(page(client, "?sort=subject"))
    assert ascending == [own[1].number, own[2].number, own[0].number]  # C.., Ch.., I..
    assert numbers(page(client, "?sort=-subject")) == list(reversed(ascending))
    # The newest first by default; by number ascending on request.
    assert numbers(page(client)) == [t.number for t in reversed(own)]
    assert numbers(page(client, "?sort=number")) == [t.number for t in own]
    # A column that is not shown cannot be sorted by (falls back to the default).
    assert numbers(page(client, "?sort=assignee")) == [t.number for t in reversed(own)]


def test_search_by_number_subject_and_date(client, own):
    assert numbers(page(client, f"?q={own[1].number}")) == [own[1].number]
    assert numbers(page(client, "?q=tariff")) == [own[2].number]
    today = datetime.now(UTC).date()
    assert len(numbers(page(client, f"?q={today:%d.%m.%Y}"))) == 3
    assert len(numbers(page(client, f"?q={today.isoformat()}"))) == 3
    yesterday = today - timedelta(days=1)
    html = page(client, f"?q={yesterday:%d.%m.%Y}")
    assert numbers(html) == [] and "Nothing found" in html
    # Someone else's ticket is never found.
    assert numbers(page(client, "?q=secret")) == []
    # The search and the filter combine; the tabs keep the search.
    html = page(client, "?state=closed&q=Invoice")
    assert numbers(html) == []


def test_the_page_size_comes_from_the_users_settings(client, customer):
    users.update_preferences(customer, {"page_size": 10}, actor=customer)
    made = [tickets.create({"subject": f"Ticket {n:02d}"}, actor=customer) for n in range(12)]
    first = page(client, "?sort=number")
    assert numbers(first) == [t.number for t in made[:10]]
    assert "Page 1 of 2" in first and 'rel="next" href="/portal/?sort=number&amp;page=2"' in first
    second = page(client, "?sort=number&page=2")
    assert numbers(second) == [t.number for t in made[10:]]
    assert 'rel="prev"' in second
    assert numbers(page(client, "?sort=number&page=99")) == [t.number for t in made[10:]]
    assert len(numbers(page(client, "?page=abc"))) == 10


def test_columns_follow_the_admins_list_and_customer_visibility(client, own):
    html = page(client)
    headers = re.findall(r'<th scope="col">(.*?)</th>', html, re.S)
    text = [re.sub(r"<[^>]+>", "", h).replace("↓", "").replace("↑", "").strip() for h in headers]
    assert text == ["Number", "Subject", "Queue", "Priority", "Status", "Created"]
    fields_service.override("priority", {"shown_to_customer": False})
    fields_service.override("contract_number", {"shown_in_list": True, "label": "Contract"})
    html = page(client)
    headers = re.findall(r'<th scope="col">(.*?)</th>', html, re.S)
    text = [re.sub(r"<[^>]+>", "", h).replace("↓", "").strip() for h in headers]
    assert "Priority" not in text and "Contract" in text
    # Columns kept in the JSON values sort too (issue 16.4), by their value.
    assert "?sort=contract_number" in html
    sorted_html = page(client, "?sort=contract_number")
    assert "cannot be sorted" not in sorted_html
