"""Each adapter against its loopback server: SMS.ru's documented HTTP API
(send, refusals, status poll, callback), an SMPP SMSC (bind, submit_sm with
concatenated parts, deliver_sm receipts and replies), and the dev gateway's
delivery reports from the admin page."""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.models import OutboxMessage, TicketEvent
from kernel.outbox import PermanentFailure, TemporaryFailure
from plugins.sms import gateways, segments, service
from plugins.sms.gateways.smpp import SmppGateway, parse_receipt
from plugins.sms.gateways.smsru import SmsRu, parse_callback
from plugins.sms.models import SmsDevMessage, SmsMessage
from web.testing import login


def _kinds(ticket):
    return [e.kind for e in db.session.scalars(db.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.like("sms.%"))
        .order_by(TicketEvent.id))]


# -- SMS.ru ------------------------------------------------------------------------------


def test_smsru_send_is_the_documented_request(smsru, agent, ticket):
    message = service.send(ticket, "+79123456789", "Заявка принята", actor=agent)
    db.session.refresh(message)
    [request] = smsru.sent
    assert request["api_id"] == "test-api-id" and request["to"] == "79123456789"
    assert request["msg"] == "Заявка принята" and request["json"] == "1"
    assert request["from"] == "Hookdesk" and "test" not in request
    assert message.status == "sent" and [p.provider_id for p in message.part_ids] == [
        request["sms_id"]]


def test_smsru_refusals_are_temporary_or_permanent(smsru):
    gateway = SmsRu("test-api-id", smsru.url)
    smsru.refuse = (209, "Номер в стоп-листе")
    with pytest.raises(PermanentFailure, match="209"):
        gateway.send("+79123456789", "x", "k1")
    smsru.refuse = (220, "Сервис временно недоступен")
    with pytest.raises(TemporaryFailure, match="220"):
        gateway.send("+79123456789", "x", "k2")
    smsru.refuse = None
    with pytest.raises(PermanentFailure, match="200"):
        SmsRu("wrong", smsru.url).send("+79123456789", "x", "k3")
    with pytest.raises(TemporaryFailure, match="unreachable"):
        SmsRu("test-api-id", "http://127.0.0.1:9").send("+79123456789", "x", "k4")


def test_smsru_status_poll_and_callback(smsru, app, agent, ticket):
    first = service.send(ticket, "+79123456789", "Раз", actor=agent)
    second = service.send(ticket, "+79123456789", "Два", actor=agent)
    one, two = (smsru.sent[0]["sms_id"], smsru.sent[1]["sms_id"])
    # The poll: one delivered, one still on its way.
    smsru.states[one] = 103
    assert service.poll_smsru() == 1
    path, form = smsru.requests[-1]
    assert path == "/sms/status" and set(form["sms_id"].split(",")) == {one, two}
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.status, second.status) == ("delivered", "sent")
    # The callback: a wrong secret is not found; the right one applies the report.
    from kernel.services import settings

    settings.set("sms.callback_token", "s3cret-token")
    client = app.test_client()
    body = {"data[0]": f"sms_status\n{two}\n106\n1764763200", "data[1]": "something else"}
    assert client.post("/sms/callback/smsru/wrong", data=body).status_code == 404
    response = client.post("/sms/callback/smsru/s3cret-token", data=body)
    assert response.status_code == 200 and response.get_data(as_text=True) == "100"
    db.session.refresh(second)
    assert second.status == "undelivered" and "106" in second.error
    # A repeat changes nothing; a late "sent" never moves a final status back.
    client.post("/sms/callback/smsru/s3cret-token", data=body)
    client.post("/sms/callback/smsru/s3cret-token",
                data={"data[0]": f"sms_status\n{two}\n102\n1764763300"})
    db.session.refresh(second)
    assert second.status == "undelivered"
    assert _kinds(ticket) == ["sms.sent", "sms.sent", "sms.delivered", "sms.undelivered"]


def test_parse_callback():
    reports = parse_callback(["sms_status\n000000-1\n103\n1700000000", "bad", "sms_status\nx\n"])
    assert [(r.provider_id, r.status) for r in reports] == [("000000-1", "delivered")]


# -- SMPP --------------------------------------------------------------------------------


def test_smpp_send_and_receipts(smpp, agent, ticket):
    message = service.send(ticket, "+79123456789", "Мастер придёт завтра", actor=agent)
    db.session.refresh(message)
    [submit] = smpp.submits
    assert submit["destination"] == "79123456789" and submit["dst_ton"] == 1
    assert submit["source"] == "Hookdesk" and submit["src_ton"] == 5
    assert submit["data_coding"] == 8 and submit["registered_delivery"] & 1
    assert submit["message"].decode("utf-16-be") == "Мастер придёт завтра"
    assert message.status == "sent" and message.part_ids[0].provider_id == submit["message_id"]
    # The listener binds, takes the receipt and answers deliver_sm_resp.
    gateway = gateways.current()
    gateway.on_report = lambda r: service.report("smpp", r.provider_id, r.status, r.detail)
    gateway.listen(seconds=5, until=lambda: smpp.acked >= 1, poll=0.05)
    db.session.refresh(message)
    assert message.status == "delivered" and smpp.acked == 1
    assert _kinds(ticket) == ["sms.sent", "sms.delivered"]


def test_smpp_long_text_goes_in_concatenated_parts(smpp, configure, agent, ticket):
    text = ("Ваша заявка принята, мастер приедет завтра с 10 до 12 часов. " * 3).strip()
    counted = segments.count(text)
    assert counted.parts == 3
    smpp.stat = "UNDELIV"
    message = service.send(ticket, "+79123456789", text, actor=agent)
    assert len(smpp.submits) == 3
    decoded = []
    for number, submit in enumerate(smpp.submits, start=1):
        udh, body = submit["message"][:6], submit["message"][6:]
        assert submit["esm_class"] & 0x40 and udh[:3] == bytes((5, 0, 3))
        assert udh[4:] == bytes((3, number)) and udh[3] == smpp.submits[0]["message"][3]
        decoded.append(body.decode("utf-16-be"))
    assert "".join(decoded) == text
    db.session.refresh(message)
    assert len(message.part_ids) == 3
    gateway = gateways.current()
    gateway.on_report = lambda r: service.report("smpp", r.provider_id, r.status, r.detail)
    gateway.listen(seconds=5, until=lambda: smpp.acked >= 3, poll=0.05)
    db.session.refresh(message)
    assert message.status == "undelivered" and "UNDELIV" in message.error
    assert _kinds(ticket) == ["sms.sent", "sms.undelivered"]  # one final event, not three


def test_smpp_refusals_and_a_stop_reply(smpp, agent, ticket):
    gateway = gateways.current()
    smpp.submit_status = 0x0B  # ESME_RINVDSTADR: a bad number, never again
    with pytest.raises(PermanentFailure, match="refused"):
        gateway.send("+79123456789", "x", "k1")
    smpp.submit_status = 0x58  # ESME_RTHROTTLED: later
    with pytest.raises(TemporaryFailure):
        gateway.send("+79123456789", "x", "k2")
    with pytest.raises(TemporaryFailure, match="bind"):
        SmppGateway("127.0.0.1", smpp.port, "hookdesk", "wrong").send("+79123456789", "x", "k")
    with pytest.raises(TemporaryFailure, match="Cannot reach"):
        SmppGateway("127.0.0.1", 9, "hookdesk", "secret", timeout=1).send("+7912", "x", "k")
    smpp.reply("+79001234567", "СТОП")
    gateway.on_reply = service.reply_received
    gateway.listen(seconds=5, until=lambda: smpp.acked >= 1, poll=0.05)
    assert service.is_opted_out("+79001234567")


def test_parse_receipt_from_text_or_tlv():
    class Pdu:
        short_message = b"id:abc sub:001 dlvrd:000 submit date:2612031200 done date:2612031201 " \
                        b"stat:REJECTD err:011 text:"
        receipted_message_id = None
        message_state = None

    report = parse_receipt(Pdu())
    assert (report.provider_id, report.status) == ("abc", "undelivered")
    assert "err:011" in report.detail
    Pdu.short_message, Pdu.receipted_message_id, Pdu.message_state = b"", b"xyz", 2
    assert parse_receipt(Pdu()).status == "delivered"


# -- the dev gateway ------------------------------------------------------------------------


def test_the_dev_gateway_page_plays_back_reports(dev, app, admin, agent, ticket):
    message = service.send(ticket, "+79123456789", "Hello", actor=agent)
    client = app.test_client()
    login(client, admin)
    page = client.get("/admin/sms/dev").get_data(as_text=True)
    kept = db.session.scalar(db.select(SmsDevMessage))
    assert f'data-dev-sms="{kept.id}"' in page and "Hello" in page
    assert client.post(f"/admin/sms/dev/{kept.id}/report",
                       data={"status": "bogus"}).status_code == 303
    client.post(f"/admin/sms/dev/{kept.id}/report", data={"status": "delivered"})
    db.session.refresh(message)
    assert message.status == "delivered"
    assert _kinds(ticket) == ["sms.sent", "sms.delivered"]
    # The agent may not open the admin pages.
    other = app.test_client()
    login(other, agent)
    assert other.get("/admin/sms/dev").status_code == 403
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 1
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1


def test_smpp_down_then_up_sends_exactly_once(configure, agent, ticket):
    from datetime import timedelta

    from loopback import SmppServer

    from kernel import outbox
    from kernel.db import utcnow

    server = SmppServer()
    port = server.port
    server.close()  # the SMSC is down
    configure("smpp", smpp_host="127.0.0.1", smpp_port=port, smpp_system_id="hookdesk",
              smpp_password="secret")
    message = service.send(ticket, "+79123456789", "Hello", actor=agent)
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert row.status == "pending" and "Cannot reach the SMSC" in row.last_error
    server = SmppServer()  # up again (on a new port: the admin saves it)
    try:
        configure("smpp", smpp_port=server.port)
        db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        outbox.sweep()
        db.session.refresh(message)
        assert message.status == "sent" and len(server.submits) == 1
        db.session.execute(db.update(OutboxMessage).values(
            status="sending", claimed_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        outbox.sweep()  # a crashed worker's claim: the channel knows it left already
        assert len(server.submits) == 1
    finally:
        server.close()
