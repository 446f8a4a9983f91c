"""A1: the agent's ticket table — filters, search, sorting, pages, and the
"Overdue" / "Urgent" badges with their counters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kernel.db import db
from kernel.models import Ticket
from kernel.services import tickets, users
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


def numbers(html: str) -> list[str]:
    return re.findall(r'<tr data-ticket="([^"]+)"', html)


def badge_count(html: str, key: str) -> int:
    found = re.search(rf'data-badge="{key}".*?<span class="counter">(\d+)</span>', html, re.S)
    return int(found.group(1))


@pytest.fixture
def seeded(app, agent, make_ticket):
    other = users.create({"email": "other@test.example", "password": "other-pass-1",
                          "roles": ["agent"], "name": "Other"})
    now = datetime.now(UTC)
    a = make_ticket(actor=agent, subject="Printer is broken", queue="technical", urgent=True)
    b = make_ticket(actor=agent, subject="Invoice for May", queue="billing",
                    deadline=(now - timedelta(days=2, hours=3, minutes=10)).isoformat())
    c = make_ticket(actor=other, subject="Change tariff", queue="general",
                    deadline=(now + timedelta(days=3)).isoformat())
    d = make_ticket(actor=agent, subject="Old closed one", urgent=True,
                    deadline=(now - timedelta(days=9)).isoformat())
    tickets.transition(d, "resolved", actor=agent)
    return {"a": a, "b": b, "c": c, "d": d, "other": other}


def test_table_shows_open_tickets_with_badge_counters(client, agent, seeded):
    login(client, agent)
    html = client.get("/agent/").get_data(as_text=True)
    assert set(numbers(html)) == {seeded[k].number for k in "abc"}
    assert badge_count(html, "overdue") == 1  # the closed overdue ticket does not count
    assert badge_count(html, "urgent") == 1
    # how late, with the coloured clock in the deadline column
    assert "2 д 3 ч просрочки" in html
    assert html.count("agent-clock--late") >= 2  # the badge + the late row


def test_badges_act_as_filters(client, agent, seeded):
    login(client, agent)
    html = client.get("/agent/?overdue=1").get_data(as_text=True)
    assert numbers(html) == [seeded["b"].number]
    html = client.get("/agent/?urgent=1").get_data(as_text=True)
    assert numbers(html) == [seeded["a"].number]
    html = client.get("/agent/?urgent=1&state=all").get_data(as_text=True)
    assert set(numbers(html)) == {seeded["a"].number, seeded["d"].number}


@pytest.mark.parametrize(("query", "expected"), [
    ("state=closed", "d"),
    ("state=all", "abcd"),
    ("queue=billing", "b"),
    ("assignee=mine", "ab"),
    ("q=printer", "a"),
    ("type=request&status=resolved&state=all", "d"),
])
def test_filters_and_search(client, agent, seeded, query, expected):
    login(client, agent)
    html = client.get(f"/agent/?{query}").get_data(as_text=True)
    assert set(numbers(html)) == {seeded[k].number for k in expected}


def test_filter_by_other_assignee_and_search_by_number_and_date(client, agent, seeded):
    login(client, agent)
    html = client.get(f"/agent/?assignee={seeded['other'].id}").get_data(as_text=True)
    assert numbers(html) == [seeded["c"].number]
    html = client.get(f"/agent/?q={seeded['b'].number}").get_data(as_text=True)
    assert numbers(html) == [seeded["b"].number]
    today = datetime.now(UTC).date().isoformat()
    html = client.get(f"/agent/?q={today}").get_data(as_text=True)
    assert len(numbers(html)) == 3
    html = client.get("/agent/?q=2001-01-01").get_data(as_text=True)
    assert numbers(html) == [] and "Нет подходящих заявок" in html


def test_created_date_range_and_bad_dates(client, agent, seeded):
    login(client, agent)
    old = seeded["c"]
    db.session.get(Ticket, old.id)  # move its creation back through SQL: no service does that
    db.session.execute(db.update(Ticket).where(Ticket.id == old.id).values(
        created_at=datetime(2024, 1, 10, 12, tzinfo=UTC)))
    db.session.commit()
    html = client.get("/agent/?created_from=2024-01-01&created_to=2024-01-31").get_data(
        as_text=True)
    assert numbers(html) == [old.number]
    html = client.get("/agent/?created_from=soon").get_data(as_text=True)
    assert 'id="created_from-error"' in html and len(numbers(html)) == 3


def test_sort_by_columns(client, agent, seeded):
    login(client, agent)
    html = client.get("/agent/?sort=number").get_data(as_text=True)
    assert numbers(html) == [seeded[k].number for k in "abc"]
    html = client.get("/agent/?sort=-number").get_data(as_text=True)
    assert numbers(html) == [seeded[k].number for k in "cba"]
    html = client.get("/agent/?sort=-subject").get_data(as_text=True)
    assert numbers(html) == [seeded[k].number for k in "abc"]
    html = client.get("/agent/?sort=queue").get_data(as_text=True)  # a field shown in the list
    assert numbers(html) == [seeded[k].number for k in "bca"]
    html = client.get("/agent/?sort=deadline").get_data(as_text=True)
    with_deadline = [n for n in numbers(html) if n != seeded["a"].number]
    assert with_deadline == [seeded["b"].number, seeded["c"].number]
    assert 'aria-sort="ascending"' in html
    # an unknown column falls back to the newest first
    html = client.get("/agent/?sort=password").get_data(as_text=True)
    assert numbers(html) == [seeded[k].number for k in "cba"]


def test_page_size_comes_from_the_user(client, agent, make_ticket):
    users.update_preferences(agent, {"page_size": 10}, actor=agent)
    for n in range(12):
        make_ticket(actor=agent, subject=f"T{n}")
    login(client, agent)
    html = client.get("/agent/").get_data(as_text=True)
    assert len(numbers(html)) == 10 and 'rel="next"' in html
    html = client.get("/agent/?page=2").get_data(as_text=True)
    assert len(numbers(html)) == 2 and 'rel="prev"' in html


def test_customers_need_login_and_customers_are_refused(client, customer_user):
    assert client.get("/agent/").status_code == 302
    login(client, customer_user)
    assert client.get("/agent/").status_code == 403
    assert client.get("/agent/board").status_code == 403


def column_keys(html: str) -> list[str]:
    """The chosen columns of the first row, in order."""
    row = html.split("<tr data-ticket=", 1)[1].split("</tr>", 1)[0]
    return re.findall(r'data-column="([^"]+)"', row)


def test_each_agent_chooses_and_orders_their_columns(client, agent, seeded):
    login(client, agent)
    before = column_keys(client.get("/agent/?state=all").get_data(as_text=True))
    assert "queue" in before
    response = client.post("/agent/columns", data={
        "column": ["queue", "priority", "assignee"], "order.assignee": "1", "order.queue": "2",
        "order.priority": "3", "next": "/agent/?state=all"})
    assert response.status_code == 303 and response.headers["Location"] == "/agent/?state=all"
    html = client.get("/agent/?state=all").get_data(as_text=True)
    assert column_keys(html) == ["assignee", "queue", "priority"]
    assert users.table_columns(agent) == ["assignee", "queue", "priority"]
    other = users.by_email("other@test.example")  # someone else's table is untouched
    assert users.table_columns(other) is None
    client.post("/agent/columns", data={"action": "reset"})
    assert users.table_columns(agent) is None
    assert column_keys(client.get("/agent/?state=all").get_data(as_text=True)) == before


def test_a_column_of_types_not_in_the_table_is_left_out(client, agent, seeded):
    from kernel.services import fields as fields_service

    fields_service.create_custom({"key": "f_other", "type": "text", "label": "Other type only",
                                  "shown_in_list": True, "ticket_types": ["no_such_type"]})
    login(client, agent)
    assert "f_other" not in column_keys(client.get("/agent/").get_data(as_text=True))
