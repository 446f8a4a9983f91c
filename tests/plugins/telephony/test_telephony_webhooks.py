"""Signed webhooks (T1): the generic JSON format (HMAC of the body with a
timestamp window; a replay refused; a resend changes nothing) and Zadarma's
documented notifications (its signature scheme; repeats acknowledged once)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from kernel.db import db
from plugins.telephony import config, zadarma
from plugins.telephony.models import Call, Delivery


def calls_count() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count(Call.id)))


def test_a_signed_event_is_recorded(send, ev, caller):
    response = send(ev.make("start", at="2026-12-03T10:00:00+03:00"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "ringing"
    call = db.session.get(Call, body["call"])
    assert (call.customer_id, call.started_at.isoformat()) == (caller.id,
                                                               "2026-12-03T07:00:00+00:00")


@pytest.mark.parametrize("how, message", [
    ({"secret": "not-the-key"}, "does not match"),
    ({"signature": "sha256=" + "0" * 64}, "does not match"),
    ({"timestamp": -301}, "away from now"),  # seconds from now
    ({"timestamp": 400}, "away from now"),
    ({"timestamp": "yesterday"}, "Timestamp"),
])
def test_bad_or_stale_signatures_are_refused(send, ev, how, message):
    if isinstance(how.get("timestamp"), int):
        how = {"timestamp": int(time.time()) + how["timestamp"]}
    response = send(ev.make("start"), **how)
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert calls_count() == 0


def test_a_tampered_body_is_refused(send, ev, telephony):
    stamp = str(int(time.time()))
    from plugins.telephony import generic

    signed = json.dumps(ev.make("start")).encode()
    signature = generic.sign(telephony["secret"], stamp, signed)
    response = send(None, body=signed.replace(b"c-1", b"c-2"), timestamp=stamp,
                    signature=signature)
    assert response.status_code == 401 and calls_count() == 0


def test_the_window_is_a_setting(send, ev):
    config.save("main", {"signature_window": "60"})
    assert send(ev.make("start"), timestamp=int(time.time()) - 90).status_code == 401
    assert send(ev.make("start"), timestamp=int(time.time()) - 30).status_code == 200


def test_a_replay_is_refused_and_a_resend_changes_nothing(send, ev, telephony, client):
    data = ev.make("end", at="2026-12-03T10:01:00Z", outcome="busy")
    stamp = str(int(time.time()))
    first = send(data, timestamp=stamp)
    assert first.status_code == 200
    replay = send(data, timestamp=stamp)  # the very same signed request
    assert replay.status_code == 409 and "replay" in replay.get_json()["error"]
    resend = send(data, timestamp=int(stamp) - 1)  # signed again: accepted, idempotent
    assert resend.status_code == 200
    assert calls_count() == 1
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 2
    call = db.session.scalar(db.select(Call))
    assert (call.outcome, call.ended_at.isoformat()) == ("busy", "2026-12-03T10:01:00+00:00")


@pytest.mark.parametrize("body, field", [
    (b"{not json", "_schema"), (b"[1, 2]", "_schema"),
    (json.dumps({"event": "start", "direction": "in"}).encode(), "call_id"),
    (json.dumps({"call_id": "a", "event": "ring", "direction": "in"}).encode(), "event"),
    (json.dumps({"call_id": "a", "event": "start", "direction": "in",
                 "at": "2026-12-03T10:00:00"}).encode(), "at"),
    (json.dumps({"call_id": "a", "event": "end", "direction": "in",
                 "duration": "long"}).encode(), "duration"),
])
def test_malformed_events_are_refused_naming_the_field(send, body, field):
    response = send(None, body=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert calls_count() == 0
    # A refused event is not remembered: fixed, it may come again with the same stamp.
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 0


def test_without_a_key_the_generic_webhook_refuses(client, ev):
    response = client.post("/telephony/webhooks/generic", json=ev.make("start"),
                           headers={"X-Hookdesk-Timestamp": str(int(time.time())),
                                    "X-Hookdesk-Signature": "sha256=00"})
    assert response.status_code == 401 and "no signing key" in response.get_json()["error"]


# -- Zadarma -------------------------------------------------------------------------

SECRET = "zadarma-secret"


def zsign(text: str) -> str:
    """As Zadarma's PHP library: base64_encode(hash_hmac('sha1', $text, $secret))."""
    return base64.b64encode(
        hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).hexdigest().encode()).decode()


@pytest.fixture
def zsend(client, app):
    config.save("zadarma", {"api_key": "key", "api_secret": SECRET})

    def post(form, signature=None):
        fields = zadarma.EVENTS[form["event"]][0]
        sig = signature if signature is not None else zsign("".join(form.get(f, "")
                                                                    for f in fields))
        return client.post("/telephony/webhooks/zadarma", data=form,
                           headers={"Signature": sig})

    return post


START = {"event": "NOTIFY_START", "call_start": "2026-12-03 13:00:00",
         "pbx_call_id": "in_abc", "caller_id": "79123456789", "called_did": "74951234567"}
ANSWER = {"event": "NOTIFY_ANSWER", "call_start": "2026-12-03 13:00:00",
          "pbx_call_id": "in_abc", "caller_id": "79123456789", "destination": "101",
          "internal": "101"}
END = {"event": "NOTIFY_END", "call_start": "2026-12-03 13:00:00", "pbx_call_id": "in_abc",
       "caller_id": "79123456789", "called_did": "74951234567", "internal": "101",
       "duration": "95", "disposition": "answered", "status_code": "16", "is_recorded": "1",
       "call_id_with_rec": "1234.567"}


def test_zadarma_checks_the_notification_address(client):
    response = client.get("/telephony/webhooks/zadarma?zd_echo=a1b2c3")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "a1b2c3")


def test_zadarma_signature_is_the_documented_one():
    # The signed text of a start: caller_id + called_did + call_start.
    text = START["caller_id"] + START["called_did"] + START["call_start"]
    assert zadarma.encode_signature(SECRET, text) == zsign(text)
    assert zadarma.verify(SECRET, START, zsign(text))


@pytest.mark.parametrize("order", [(START, ANSWER, END), (END, START, ANSWER),
                                   (ANSWER, END, START)])
def test_zadarma_events_in_any_order(zsend, caller, operator, order):
    for form in order:
        response = zsend(form)
        assert response.status_code == 200, response.get_json()
    call = db.session.scalar(db.select(Call))
    db.session.refresh(call)
    assert (call.provider, call.provider_call_id, call.direction) == ("zadarma", "in_abc", "in")
    assert (call.customer_id, call.agent_id, call.outcome, call.duration) == (
        caller.id, operator.id, "answered", 95)
    # 13:00 in Moscow is 10:00 UTC; the end is the start plus the duration.
    assert call.started_at.isoformat() == "2026-12-03T10:00:00+00:00"
    assert call.ended_at.isoformat() == "2026-12-03T10:01:35+00:00"
    assert call.recorded  # is_recorded=1: fetched from Zadarma when someone listens


def test_zadarma_bad_signature_and_repeats(zsend):
    assert zsend(START, signature="bm90IGl0").status_code == 401
    assert zsend(START, signature="").status_code == 401
    assert calls_count() == 0
    assert zsend(START).get_json() == {"status": "ok"}
    assert zsend(START).get_json() == {"status": "duplicate"}  # acknowledged once
    assert calls_count() == 1


def test_zadarma_outgoing_and_busy(zsend, caller):
    out_start = {"event": "NOTIFY_OUT_START", "call_start": "2026-12-03 13:05:00",
                 "pbx_call_id": "out_1", "internal": "101", "destination": "79123456789"}
    out_end = {**out_start, "event": "NOTIFY_OUT_END", "caller_id": "101", "duration": "0",
               "disposition": "busy"}
    assert zsend(out_end).status_code == 200 and zsend(out_start).status_code == 200
    call = db.session.scalar(db.select(Call))
    db.session.refresh(call)
    assert (call.direction, call.to_number, call.customer_id, call.outcome) == (
        "out", "79123456789", caller.id, "busy")


def test_zadarma_unknown_event_is_refused(zsend, client):
    response = client.post("/telephony/webhooks/zadarma", data={"event": "NOTIFY_WHAT"},
                           headers={"Signature": "x"})
    assert response.status_code == 422 and "event" in response.get_json()["errors"]


def test_zadarma_event_without_a_call_id_is_refused(zsend):
    form = {k: v for k, v in START.items() if k != "pbx_call_id"}
    response = zsend(form)
    assert response.status_code == 422 and "call_id" in response.get_json()["errors"]
    assert calls_count() == 0
