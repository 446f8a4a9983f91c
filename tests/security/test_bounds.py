"""Defect 7 of issue 9, numbers: ``?page=100000000000000000000`` was a 500
(``OverflowError``) on /portal/ and /agent/. Every numeric query parameter of
every list door — portal, agent pages, admin and plugin pages, the API with a
customer's and an agent's token — is bounded: pages clamp, the API answers 422
naming the parameter. Never a 500."""

import re

import pytest

from kernel.services import queries, tickets, tokens, users
from web.testing import login

HUGE = "100000000000000000000"
BAD_NUMBERS = [HUGE, "-100000000000000000000", "abc", "1.5", "9" * 400]
NUMERIC_PARAMS = ["page", "per_page", "limit", "offset", "ticket", "rule_id", "house_id",
                  "apartment_id", "customer_id", "assignee_id", "event_id", "id", "size"]
SKIP = ("/static/", "/api/v1/docs", "/warranty/static/", "/auth/password/")


@pytest.fixture
def doors(app, admin, customer_user):
    """Every GET route, with ids of rows that exist; and tokens of both kinds."""
    ticket = tickets.create({"subject": "Bounds", "customer": customer_user.customer_id},
                            actor=admin)
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP):
            continue
        path = re.sub(r"<int:\w+>", str(ticket.id), rule.rule)
        path = re.sub(r"<(?:path:)?ref>", ticket.number, path)
        path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
        paths.append(path)
    return sorted(set(paths)), ticket


def _sweep(client, paths, headers=None):
    failures = []
    for path in paths:
        for bad in BAD_NUMBERS:
            query = "&".join(f"{name}={bad}" for name in NUMERIC_PARAMS)
            response = client.get(f"{path}?{query}", headers=headers or {})
            if response.status_code >= 500:
                failures.append((path, bad, response.status_code))
    return failures


def test_no_door_answers_500_to_bad_numbers_as_staff(app, client, admin, agent, doors):
    paths, _ticket = doors
    login(client, admin)
    assert _sweep(client, [p for p in paths if not p.startswith("/api/")]) == []
    admin_token = {"Authorization": f"Bearer {tokens.create(admin, 't')[1]}"}
    agent_token = {"Authorization": f"Bearer {tokens.create(agent, 't')[1]}"}
    api = [p for p in paths if p.startswith("/api/")]
    assert _sweep(client, api, admin_token) == []
    assert _sweep(client, api, agent_token) == []


def test_no_door_answers_500_to_bad_numbers_as_a_customer(app, client, customer_user, doors):
    paths, _ticket = doors
    login(client, customer_user)
    assert _sweep(client, [p for p in paths if not p.startswith("/api/")]) == []
    token = {"Authorization": f"Bearer {tokens.create(customer_user, 't')[1]}"}
    assert _sweep(client, [p for p in paths if p.startswith("/api/")], token) == []


@pytest.mark.parametrize("page", [HUGE, "-5", "abc", "99999999999"])
def test_pages_clamp_and_show_a_page(app, client, admin, customer_user, doors, page):
    _paths, ticket = doors
    login(client, customer_user)
    response = client.get(f"/portal/?page={page}")
    assert response.status_code == 200
    assert ticket.number in response.get_data(as_text=True)  # the last (only) page
    login(client, admin)
    for path in ("/agent/", "/admin/users"):
        assert client.get(f"{path}?page={page}").status_code == 200


@pytest.mark.parametrize("query, field", [
    (f"page={HUGE}", "page"), ("page=-1", "page"), ("page=0", "page"), ("page=abc", "page"),
    ("per_page=1000000000", "per_page"), ("per_page=-3", "per_page"), ("per_page=x", "per_page"),
])
def test_the_api_refuses_out_of_range_numbers_with_422(app, client, agent, customer_user, query,
                                                       field):
    for user in (agent, customer_user):
        token = {"Authorization": f"Bearer {tokens.create(user, 't')[1]}"}
        for path in ("/api/v1/tickets", "/api/v1/customers"):
            response = client.get(f"{path}?{query}", headers=token)
            if path == "/api/v1/customers" and user is customer_user:
                assert response.status_code in (403, 422)
                continue
            assert response.status_code == 422, (path, query, response.get_json())
            assert field in response.get_json()["errors"]


def test_huge_ids_in_paths_are_not_found(app, client, admin):
    login(client, admin)
    for path in ("/agent/tickets/", "/files/", "/admin/users/"):
        assert client.get(f"{path}{HUGE}").status_code == 404
    token = {"Authorization": f"Bearer {tokens.create(admin, 't')[1]}"}
    for path in ("/api/v1/tickets/", "/api/v1/attachments/", "/api/v1/customers/"):
        assert client.get(f"{path}{HUGE}", headers=token).status_code == 404


def test_the_kernel_bounds_pages_too(app, admin):
    tickets.create({"subject": "One"}, actor=admin)
    page = queries.list_tickets(admin, queries.TicketFilter(), page=10**20, per_page=10**9)
    assert page.page == queries.MAX_PAGE and page.per_page <= 500 and page.items == []


def test_page_size_setting_is_bounded(app, client, customer_user):
    login(client, customer_user)
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as it is not stored
        users.update_preferences(customer_user, {"page_size": 10**20}, actor=customer_user)
    assert (customer_user.page_size or 20) <= 200
