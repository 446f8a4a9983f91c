"""A4: the pipeline board — columns are the type's statuses in order with
counts; moving a card posts a transition; a forbidden move is refused with the
pipeline's message and the card stays."""

from __future__ import annotations

import re

import pytest

from kernel.db import db
from kernel.models import Ticket
from kernel.services import tickets
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


def status_of(ticket) -> str:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id).status.key


def column(html: str, key: str) -> str:
    return html.split(f'data-status="{key}"', 1)[1].split("</section>", 1)[0]


def test_columns_in_order_with_counts_and_cards(client, agent, make_ticket):
    a = make_ticket(actor=agent, subject="Первая", urgent=True)
    b = make_ticket(actor=agent, subject="Вторая")
    tickets.transition(b, "in_progress", actor=agent)
    login(client, agent)
    html = client.get("/agent/board?type=request").get_data(as_text=True)
    assert re.findall(r'<section class="agent-col[^"]*" data-status="(\w+)"', html) == [
        "new", "in_progress", "waiting", "resolved", "rejected"]
    assert '<span class="counter" data-count>1</span>' in column(html, "new")
    assert a.number in column(html, "new") and "Срочно" in column(html, "new")
    assert b.number in column(html, "in_progress")
    assert "Нет заявок" in column(html, "waiting")
    # the card's menu offers only the allowed moves
    menu = column(html, "new").split("<select", 1)[1].split("</select>", 1)[0]
    assert re.findall(r'value="(\w+)"', menu) == ["in_progress", "resolved", "rejected"]


def test_move_allowed_without_js(client, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    login(client, agent)
    response = client.post("/agent/board/move", data={
        "ticket_id": str(ticket.id), "status": "in_progress",
        "expected_version": str(ticket.version)})
    assert response.status_code == 303 and status_of(ticket) == "in_progress"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{ticket.number} переведена в статус" in html


def test_move_refused_keeps_the_card(client, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    login(client, agent)
    response = client.post("/agent/board/move", data={"ticket_id": str(ticket.id),
                                                      "status": "waiting"})
    assert response.status_code == 303 and status_of(ticket) == "new"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Воронка не разрешает переводить заявку" in html
    assert ticket.number in column(html, "new")


def test_move_by_drag_and_drop_answers_json(client, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    login(client, agent)
    headers = {"X-Requested-With": "fetch"}
    refused = client.post("/agent/board/move", headers=headers, data={
        "ticket_id": str(ticket.id), "status": "waiting"})
    assert refused.status_code == 409
    assert refused.get_json()["ok"] is False and "Воронка" in refused.get_json()["message"]
    moved = client.post("/agent/board/move", headers=headers, data={
        "ticket_id": str(ticket.id), "status": "resolved",
        "expected_version": str(ticket.version)})
    answer = moved.get_json()
    assert status_of(ticket) == "resolved"
    version = db.session.get(Ticket, ticket.id).version
    assert answer == {"ok": True, "status": "resolved", "version": version,
                      "allowed": ["in_progress"]}
    stale = client.post("/agent/board/move", headers=headers, data={
        "ticket_id": str(ticket.id), "status": "in_progress",
        "expected_version": str(version - 1)})
    assert stale.status_code == 409 and status_of(ticket) == "resolved"


def test_move_needs_a_visible_ticket_and_csrf(client, agent, make_ticket):
    ticket = make_ticket(actor=agent)
    login(client, agent)
    assert client.post("/agent/board/move", data={"ticket_id": "999",
                                                  "status": "new"}).status_code == 404
    assert client.post("/agent/board/move", csrf=False, data={
        "ticket_id": str(ticket.id), "status": "in_progress"}).status_code == 400
    assert status_of(ticket) == "new"
