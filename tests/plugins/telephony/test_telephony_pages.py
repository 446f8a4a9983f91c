"""What agents see (T1, T3): the pop-up's JSON only for agents who may see
customers, a ticket opened from it, click-to-call through each adapter with its
errors shown, call icons only when configured, the calls on the ticket card and
the customer's page, the admin page, the demo data."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from http_server import Endpoint

from kernel.db import db
from kernel.models import Ticket
from kernel.services import tickets, users
from plugins.telephony import calls as calls_service
from plugins.telephony import config, generic, zadarma
from plugins.telephony.models import Call
from web.testing import login


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def agent_client(app, operator):
    client = app.test_client()
    login(client, operator)
    return client


def ring(send, ev, call_id="c-1"):
    response = send(ev.make("start", call_id=call_id))
    assert response.status_code == 200, response.get_json()
    return db.session.get(Call, response.get_json()["call"])


def test_the_popup_shows_a_ringing_call_with_the_customer_and_open_tickets(
        send, ev, caller, operator, agent_client, make_ticket):
    open_one = make_ticket(subject="Не работает кран", customer=caller.id)
    closed = make_ticket(subject="Старая заявка", customer=caller.id)
    tickets.transition(closed, "resolved")
    assert agent_client.get("/telephony/popup.json").get_json() == {"calls": []}
    call = ring(send, ev)
    body = agent_client.get("/telephony/popup.json").get_json()
    (shown,) = body["calls"]
    assert shown["id"] == call.id and shown["number"] == "+7 912 345-67-89"
    assert shown["customer"]["name"] == "Ирина Соколова"
    assert [t["number"] for t in shown["customer"]["tickets"]] == [open_one.number]
    assert shown["open_url"] == f"/telephony/calls/{call.id}/ticket"
    # Answered: no longer ringing, the pop-up goes away.
    send(ev.make("answer", extension="101"))
    assert agent_client.get("/telephony/popup.json").get_json() == {"calls": []}


def test_the_popup_is_only_for_agents_who_may_see_customers(app, send, ev, caller,
                                                           customer_user):
    ring(send, ev)
    users.save_role("desk", "Desk", ["tickets.view", "tickets.create"], create=True)
    blind = users.create({"email": "blind@test.example", "password": "blind-pass-1",
                          "roles": ["desk"]})
    for user, status in ((blind, 403), (customer_user, 403)):
        client = app.test_client()
        login(client, user)
        response = client.get("/telephony/popup.json")
        assert response.status_code == status
        assert "Ирина" not in response.get_data(as_text=True)
        html = client.get("/").get_data(as_text=True)
        assert 'id="telephony-popup"' not in html  # no script for them either
        assert client.post(f"/telephony/calls/{caller.id}/ticket").status_code in (403, 404)
    assert app.test_client().get("/telephony/popup.json").status_code == 302  # log in first


def test_the_popup_script_is_on_agent_pages_only_when_configured(app, operator, agent_client,
                                                                 telephony):
    html = agent_client.get("/agent/").get_data(as_text=True)
    assert 'id="telephony-popup"' in html and "telephony.js" in html
    config.save("main", {"provider": ""})
    html = agent_client.get("/agent/").get_data(as_text=True)
    assert 'id="telephony-popup"' not in html


def test_an_agent_opens_a_ticket_from_the_ringing_call(send, ev, caller, operator,
                                                       agent_client):
    call = ring(send, ev)
    response = agent_client.post(f"/telephony/calls/{call.id}/ticket")
    assert response.status_code == 303
    ticket = db.session.scalar(db.select(Ticket))
    assert response.headers["Location"].endswith(f"/agent/tickets/{ticket.id}")
    assert (ticket.customer_id, ticket.assignee_id) == (caller.id, operator.id)
    card = agent_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-panel="telephony.calls"' in card and "+7 912 345-67-89" in card
    assert "Phone call" in card  # the event on the timeline
    # The pop-up now links the call's ticket instead of opening another.
    shown = agent_client.get("/telephony/popup.json").get_json()["calls"][0]
    assert shown["ticket"]["number"] == ticket.number
    again = agent_client.post(f"/telephony/calls/{call.id}/ticket")
    assert again.headers["Location"].endswith(f"/agent/tickets/{ticket.id}")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 1


def test_the_customer_page_lists_calls_and_open_tickets(send, ev, caller, agent_client,
                                                        make_ticket):
    make_ticket(subject="Вопрос по счёту", customer=caller.id)
    ring(send, ev)
    send(ev.make("end", outcome="missed"))
    html = agent_client.get(f"/telephony/customers/{caller.id}").get_data(as_text=True)
    assert "Ирина Соколова" in html and "Вопрос по счёту" in html
    assert "Missed" in html and 'data-call="' in html
    log = agent_client.get("/telephony/calls").get_data(as_text=True)
    assert "Ирина Соколова" in log


# -- click-to-call ------------------------------------------------------------------


def test_call_icons_only_when_configured_and_with_an_extension(app, caller, operator,
                                                               agent_client, make_ticket):
    ticket = make_ticket(subject="Позвонить", customer=caller.id)
    card = lambda: agent_client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)  # noqa: E731
    assert "/telephony/call?" not in card()  # T3: not configured
    config.save("generic", {"callback_url": "http://127.0.0.1:9/call"})
    assert "/telephony/call?" not in card()  # configured, but not the adapter in use
    config.save("main", {"provider": "generic"})
    assert f"/telephony/call?to=%2B79123456789&amp;ticket={ticket.id}" in card()
    config.set_extension(operator.id, "")
    assert "/telephony/call?" not in card()  # no extension to ring


def test_click_to_call_through_the_generic_endpoint(app, caller, operator, agent_client,
                                                    endpoint, make_ticket):
    config.save("generic", {"callback_url": endpoint.url + "/call"})
    config.save("main", {"provider": "generic"})
    ticket = make_ticket(subject="Перезвонить", customer=caller.id)
    page = agent_client.get(f"/telephony/call?to=%2B79123456789&ticket={ticket.id}")
    assert page.status_code == 200 and "extension 101" in page.get_data(as_text=True)
    assert endpoint.requests == []  # showing the page places no call
    response = agent_client.post("/telephony/call", data={"to": "+79123456789",
                                                         "ticket": ticket.id})
    assert response.status_code == 303
    (sent,) = endpoint.requests
    body = json.loads(sent["body"])
    assert (body["extension"], body["to"], body["agent"]) == ("101", "+79123456789",
                                                              operator.email)
    secret = config.values("generic")["secret"]
    assert sent["headers"]["X-Hookdesk-Signature"] == generic.sign(
        secret, sent["headers"]["X-Hookdesk-Timestamp"], sent["body"])
    call = db.session.scalar(db.select(Call))
    assert (call.provider_call_id, call.direction, call.agent_id, call.customer_id,
            call.ticket_id) == ("pbx-42", "out", operator.id, caller.id, ticket.id)


@pytest.mark.parametrize("status, answer, words", [
    (500, {"error": "boom"}, "HTTP 500"),
    (200, None, None),
])
def test_click_to_call_errors_are_shown_and_nothing_is_recorded(
        app, operator, agent_client, endpoint, status, answer, words):
    config.save("generic", {"callback_url": endpoint.url + "/call"})
    config.save("main", {"provider": "generic"})
    endpoint.status, endpoint.answer = status, answer or {}
    if status == 200:  # the endpoint is gone
        endpoint.close()
        words = "did not answer"
    response = agent_client.post("/telephony/call", data={"to": "+79123456789"})
    assert response.status_code == 502
    assert "The call was not placed" in response.get_data(as_text=True)
    assert words in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Call.id))) == 0


def test_click_to_call_refuses_a_bad_number(app, operator, agent_client, telephony):
    response = agent_client.post("/telephony/call", data={"to": "12"})
    assert response.status_code == 422 and "is not a phone number" in response.get_data(
        as_text=True)


def test_click_to_call_through_zadarma_signs_as_documented(app, operator, agent_client,
                                                           endpoint):
    config.save("zadarma", {"api_key": "k1", "api_secret": "s1", "api_url": endpoint.url})
    config.save("main", {"provider": "zadarma"})
    endpoint.answer = {"status": "success", "from": 101, "to": 79123456789, "time": 1}
    response = agent_client.post("/telephony/call", data={"to": "+7 912 345-67-89"})
    assert response.status_code == 303
    (sent,) = endpoint.requests
    path = urlsplit(sent["path"])
    assert path.path == "/v1/request/callback/"
    assert sorted(parse_qsl(path.query)) == [("format", "json"), ("from", "101"),
                                             ("to", "79123456789")]
    query = "format=json&from=101&to=79123456789"
    text = "/v1/request/callback/" + query + hashlib.md5(query.encode()).hexdigest()
    assert sent["headers"]["Authorization"] == "k1:" + zadarma.encode_signature("s1", text)
    assert db.session.scalar(db.select(Call)).provider == "zadarma"
    endpoint.answer = {"status": "error", "message": "Wrong parameter 'from'"}
    refused = agent_client.post("/telephony/call", data={"to": "+79123456789"})
    assert refused.status_code == 502 and "Wrong parameter" in refused.get_data(as_text=True)


def test_click_to_call_is_not_there_for_others(app, customer_user, operator, telephony):
    client = app.test_client()
    login(client, customer_user)
    assert client.get("/telephony/call?to=%2B79123456789").status_code == 403
    config.save("main", {"provider": ""})
    client = app.test_client()
    login(client, operator)
    assert client.get("/telephony/call?to=%2B79123456789").status_code == 404


# -- admin and demo ------------------------------------------------------------------


@pytest.fixture
def admin_client(app, admin):
    users.update_preferences(admin, {"locale": "en", "timezone": "UTC"}, actor=admin)
    client = app.test_client()
    login(client, admin)
    return client


def test_the_admin_page_saves_settings_and_never_shows_secrets(admin_client, operator):
    page = admin_client.get("/admin/telephony/")
    assert page.status_code == 200 and "Not configured" in page.get_data(as_text=True)
    response = admin_client.post("/admin/telephony/zadarma", data={
        "api_key": "key-1", "api_secret": "very-secret-zadarma", "api_url":
        "https://api.zadarma.com", "timezone": "Europe/Moscow"})
    assert response.status_code == 303
    assert config.values("zadarma")["api_secret"] == "very-secret-zadarma"
    admin_client.post("/admin/telephony/zadarma", data={"api_key": "key-2", "api_secret": ""})
    assert config.values("zadarma")["api_secret"] == "very-secret-zadarma"  # empty keeps it
    admin_client.post("/admin/telephony/main", data={"provider": "zadarma",
                                                     "auto_ticket_type": "request",
                                                     "popup_ticket_type": "",
                                                     "signature_window": "300"})
    html = admin_client.get("/admin/telephony/").get_data(as_text=True)
    assert "very-secret-zadarma" not in html and "Connected: zadarma" in html
    from kernel.services import audit

    logged = json.dumps([e.data for e in audit.recent(target="zadarma")])
    assert "very-secret-zadarma" not in logged and "***" in logged


@pytest.mark.parametrize("kind, data, field, words", [
    ("main", {"signature_window": "5"}, "signature_window", "between 30 and 3600"),
    ("main", {"auto_ticket_type": "nope"}, "auto_ticket_type", "No active ticket type"),
    ("generic", {"callback_url": "ftp://x"}, "callback_url", "http:// or https://"),
    ("asterisk", {"channel": "SIP/101"}, "channel", "{extension}"),
    ("asterisk", {"port": "99999"}, "port", "between 1 and 65535"),
    ("zadarma", {"timezone": "Mars/Base"}, "timezone", "Unknown time zone"),
])
def test_the_admin_page_names_bad_values(admin_client, kind, data, field, words):
    before = config.values(kind)
    response = admin_client.post(f"/admin/telephony/{kind}", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    block = html.split(f'data-field="{kind}-{field}"', 1)[1].split("</div>", 1)[0]
    assert words in block
    assert config.values(kind) == before  # nothing half-written


def test_extensions_are_unique_and_only_admins_change_settings(app, admin_client, operator,
                                                               agent_client):
    other = users.create({"email": "other@test.example", "password": "other-pass-1",
                          "roles": ["agent"]})
    admin_client.post("/admin/telephony/extensions", data={"user_id": other.id,
                                                           "extension": "101"})
    assert config.extension_of(other) == ""  # 101 is the operator's
    admin_client.post("/admin/telephony/extensions", data={"user_id": other.id,
                                                           "extension": "102"})
    assert config.extension_of(other) == "102"
    assert agent_client.get("/admin/telephony/").status_code == 403
    assert agent_client.post("/admin/telephony/main", data={"provider": ""}).status_code == 403


def test_a_new_webhook_key_replaces_the_old(admin_client, telephony):
    old = telephony["secret"]
    admin_client.post("/admin/telephony/generic/new-secret")
    assert config.values("generic")["secret"] not in ("", old)


def test_demo_calls(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(db.select(Call).order_by(Call.provider_call_id)).all()
    assert [c.outcome for c in rows] == ["answered", "missed", "busy", "missed", "answered"]
    assert rows[0].ticket_id is not None and rows[0].customer_id is not None
    assert re.match(r"^\+7", rows[3].phone) and rows[3].customer_id is None


def test_the_calls_panel_is_for_agents_who_may_see_customers(app, send, ev, caller, operator,
                                                             agent_client):
    call = ring(send, ev)
    ticket = calls_service.open_ticket(call, operator)
    assert 'data-panel="telephony.calls"' in agent_client.get(
        f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    users.save_role("desk", "Desk", ["tickets.view"], create=True)
    desk = users.create({"email": "desk@test.example", "password": "desk-pass-1",
                         "roles": ["desk"]})
    client = app.test_client()
    login(client, desk)
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-panel="telephony.calls"' not in html


def test_a_zadarma_recording_is_fetched_on_demand(app, agent_client, endpoint, caller):
    from plugins.telephony.calls import CallEvent, apply

    config.save("zadarma", {"api_key": "k1", "api_secret": "s1", "api_url": endpoint.url})
    call = apply(CallEvent("zadarma", "in_rec", "end", "in", "+79123456789", "",
                           disposition="answered", duration=30, recorded=True))
    endpoint.answer = {"status": "success", "link": "https://api.zadarma.com/rec/1.mp3",
                       "lifetime_till": "2026-12-03 15:00:00"}
    panel = agent_client.get("/telephony/calls").get_data(as_text=True)
    assert f"/telephony/calls/{call.id}/recording" in panel
    response = agent_client.get(f"/telephony/calls/{call.id}/recording")
    assert (response.status_code, response.headers["Location"]) == (
        302, "https://api.zadarma.com/rec/1.mp3")
    (sent,) = endpoint.requests
    assert urlsplit(sent["path"]).path == "/v1/pbx/record/request/"
    query = "format=json&pbx_call_id=in_rec"
    text = "/v1/pbx/record/request/" + query + hashlib.md5(query.encode()).hexdigest()
    assert sent["headers"]["Authorization"] == "k1:" + zadarma.encode_signature("s1", text)
    endpoint.answer = {"status": "error", "message": "record not found"}
    refused = agent_client.get(f"/telephony/calls/{call.id}/recording", follow_redirects=True)
    assert "Zadarma has no recording of this call. record not found" in refused.get_data(
        as_text=True)
    unrecorded = apply(CallEvent("zadarma", "in_none", "end", "in", "+79123456789", ""))
    assert agent_client.get(f"/telephony/calls/{unrecorded.id}/recording").status_code == 404
