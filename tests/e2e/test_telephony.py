"""The telephony and SMS journey in a real browser (T1-T3): a signed incoming-call
webhook arrives while an agent works; the pop-up shows the caller with their open
ticket without a page reload, the agent opens a ticket from it and sends the
caller an SMS from its card."""

from __future__ import annotations

import json
import time

import requests
from e2e_helpers import log_in

from kernel.db import db
from kernel.models import Ticket
from kernel.services import customers, tickets


def test_an_incoming_call_pops_up_and_the_agent_opens_a_ticket(page, live_server, shot):
    live = live_server
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева",
                         role="agent")
    with live.db():
        from kernel.services import settings
        from plugins.telephony import config, generic

        settings.set("sms.gateway", "dev")  # the SMS plugin's development gateway
        settings.set("sms.sender", "Hookdesk")

        config.set_extension(agent_id, "101")
        config.save("generic", {"callback_url": "http://127.0.0.1:9/call"})
        config.save("main", {"provider": "generic"})
        secret = config.values("generic")["secret"]
        caller = customers.create({"name": "Ирина Соколова", "phones": ["+7 912 345-67-89"]})
        tickets.create({"subject": "Не греет батарея в спальне", "customer": caller.id},
                       type="request")
        caller_id = caller.id
    log_in(page, "agent@example.com", "agent-pass-1")
    page.goto("/agent/")
    popup = page.locator("#telephony-popup")
    assert popup.is_hidden()

    body = json.dumps({"call_id": "e2e-1", "event": "start", "direction": "in",
                       "from": "89123456789", "to": "+74951234567"}).encode()
    stamp = str(int(time.time()))
    answer = requests.post(f"{live.url}/telephony/webhooks/generic", data=body, timeout=10,
                           headers={"Content-Type": "application/json",
                                    "X-Hookdesk-Timestamp": stamp,
                                    "X-Hookdesk-Signature": generic.sign(secret, stamp, body)})
    assert answer.status_code == 200, answer.text

    card = popup.locator("[data-call]")
    card.wait_for(state="visible", timeout=10_000)  # no reload: the page polls
    text = card.inner_text()
    assert "+7 912 345-67-89" in text and "Ирина Соколова" in text
    assert "Не греет батарея в спальне" in text and "Входящий звонок" in text
    shot(page, "telephony-popup", phone=True)
    box = card.bounding_box()  # at 1280 px the card sits in the corner, whole
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800

    card.locator("[data-telephony-open]").click()
    page.wait_for_url("**/agent/tickets/*")
    panel = page.locator('[data-panel="telephony.calls"]')
    assert "+7 912 345-67-89" in panel.inner_text()
    assert "Телефонный звонок" in page.locator("#history").inner_text()
    with live.db():
        opened = db.session.scalar(db.select(Ticket).order_by(Ticket.id.desc()))
        assert (opened.subject, opened.customer_id) == ("☎ +7 912 345-67-89", caller_id)
    assert page.locator("#telephony-popup").is_hidden()  # taken: no pop-up on the card
    panel.evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 300)")
    shot(page, "telephony-ticket", top=False)

    # The caller gets an SMS from the new ticket's card (the icon beside the phone).
    page.locator(".phone-actions a[href*='sms_to=']").first.click()
    page.wait_for_url("**/agent/tickets/*?sms_to=*")
    sms = page.locator('[data-panel="sms"]')
    sms.locator("[data-sms-text]").fill("Мастер перезвонит вам в течение часа.")
    sms.locator("[data-sms-submit]").click()
    page.wait_for_url("**/agent/tickets/*")
    assert "SMS отправлено" in page.locator("#history").inner_text()
    with live.db():
        from plugins.sms.models import SmsMessage

        [message] = db.session.scalars(db.select(SmsMessage)).all()
        assert (message.phone, message.ticket_id) == ("+79123456789", opened.id)
