"""The embeddable request form (O1) used from another origin: CORS and the
allow-list, the honeypot, the minimum fill time, the per-address limit, JSON and
plain-page answers — a refused post writes no ticket."""

from __future__ import annotations

import time

import pytest

from kernel.db import db
from kernel.models import Ticket
from kernel.services import settings
from plugins.orders import public

SHOP = "https://shop.example"


def tickets_count():
    return db.session.scalar(db.select(db.func.count(Ticket.id)))


@pytest.fixture
def allowed(app):
    settings.set("orders.form_origins", f"{SHOP}, https://other.example")
    settings.set("orders.form_min_seconds", 2)


def token(ago: float = 10) -> str:
    return public._serializer().dumps({"t": time.time() - ago})


def form(**extra):
    data = {"name": "Olga", "email": "olga@example.com", "details": "A coffee machine",
            "started": token()}
    data.update(extra)
    return data


def test_the_form_page_may_be_framed_by_allowed_sites(client, allowed):
    page = client.get("/orders/form")
    assert page.status_code == 200
    assert "frame-ancestors 'self' https://shop.example https://other.example" in page.headers[
        "Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert 'name="website"' in html and 'name="started"' in html


def test_a_post_from_an_allowed_origin_answers_json_with_cors(client, allowed):
    before = tickets_count()
    response = client.post("/orders/form", data=form(), headers={
        "Origin": SHOP, "Accept": "application/json"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    body = response.get_json()
    assert body["ok"] is True and body["number"].startswith("RQ-")
    assert tickets_count() == before + 1
    ticket = db.session.scalar(db.select(Ticket).where(Ticket.number == body["number"]))
    assert ticket.type.key == "orders_request" and ticket.value("orders_contact_email") == (
        "olga@example.com")


def test_json_body_and_the_preflight(client, allowed):
    pre = client.options("/orders/form", headers={"Origin": SHOP,
                                                  "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == SHOP
    response = client.post("/orders/form", json=form(), headers={"Origin": SHOP})
    assert response.status_code == 201 and response.get_json()["ok"] is True
    got = client.get("/orders/form/token", headers={"Origin": SHOP})
    assert got.status_code == 200 and got.get_json()["started"]
    assert got.headers["Access-Control-Allow-Origin"] == SHOP


def test_a_plain_form_post_gets_a_page(client, allowed):
    response = client.post("/orders/form", data=form(), headers={"Origin": SHOP})
    assert response.status_code == 201 and response.mimetype == "text/html"
    assert "RQ-" in response.get_data(as_text=True)


def test_another_origin_is_refused_and_writes_nothing(client, allowed):
    before = tickets_count()
    response = client.post("/orders/form", data=form(), headers={
        "Origin": "https://evil.example", "Accept": "application/json"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.get_json()["ok"] is False
    assert client.options("/orders/form", headers={"Origin": "https://evil.example"}
                          ).status_code == 403
    assert client.get("/orders/form/token", headers={"Origin": "https://evil.example"}
                      ).status_code == 403
    assert tickets_count() == before


def test_honeypot_fast_forged_and_missing_times_are_refused(client, allowed):
    before = tickets_count()
    headers = {"Origin": SHOP, "Accept": "application/json"}
    bot = client.post("/orders/form", data=form(website="http://spam"), headers=headers)
    assert bot.status_code == 400
    fast = client.post("/orders/form", data=form(started=token(ago=0)), headers=headers)
    assert fast.status_code == 422 and "started" in fast.get_json()["errors"]
    forged = client.post("/orders/form", data=form(started="abc.def"), headers=headers)
    assert forged.status_code == 422 and "started" in forged.get_json()["errors"]
    missing = client.post("/orders/form", data=form(started=""), headers=headers)
    assert missing.status_code == 422
    assert tickets_count() == before


def test_bad_fields_are_named_and_the_page_keeps_the_input(client, allowed):
    response = client.post("/orders/form", data=form(email="not-an-email", details=""),
                           headers={"Origin": SHOP, "Accept": "application/json"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"email", "details"}
    page = client.post("/orders/form", data=form(details="", name="Olga K"),
                       headers={"Origin": SHOP})
    assert page.status_code == 422 and 'value="Olga K"' in page.get_data(as_text=True)


def test_a_flood_from_one_address_is_refused(client, allowed):
    settings.set("orders.form_rate_limit", 3)
    headers = {"Origin": SHOP, "Accept": "application/json"}
    codes = [client.post("/orders/form", data=form(details=f"Request {n}"), headers=headers,
                         environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code
             for n in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    other = client.post("/orders/form", data=form(), headers=headers,
                        environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert other.status_code == 201
    assert tickets_count() == 4
