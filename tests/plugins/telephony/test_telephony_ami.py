"""Asterisk through its Manager Interface (panoramisk) against a loopback AMI
server: the listener logs in and turns DialBegin / DialEnd / Hangup into calls;
click-to-call sends Originate; a wrong secret is a clear error."""

from __future__ import annotations

import asyncio

import pytest
from ami_server import AMIServer

from kernel.db import db
from plugins.telephony import asterisk, config
from plugins.telephony.cli import apply_ami_event
from plugins.telephony.models import Call


@pytest.fixture
def ami(app):
    server = AMIServer().start()
    config.save("asterisk", {"host": "127.0.0.1", "port": str(server.port),
                             "username": "hookdesk", "secret": "ami-secret"})
    yield server
    server.stop()


INCOMING = [
    {"Event": "DialBegin", "Linkedid": "1700000000.1", "Uniqueid": "1700000000.1",
     "CallerIDNum": "89123456789", "Exten": "74951234567", "DestCallerIDNum": "101",
     "DestExten": "101"},
    {"Event": "DialEnd", "Linkedid": "1700000000.1", "DialStatus": "ANSWER",
     "DestCallerIDNum": "101"},
    {"Event": "Hangup", "Linkedid": "1700000000.1", "Cause": "16",
     "Cause-txt": "Normal Clearing"},
]
BUSY_OUT = [
    {"Event": "DialBegin", "Linkedid": "1700000001.7", "CallerIDNum": "101",
     "DestCallerIDNum": "89123456789", "DestExten": "89123456789"},
    {"Event": "Hangup", "Linkedid": "1700000001.7", "Cause": "17", "Cause-txt": "User busy"},
]
COLLEAGUES = [
    {"Event": "DialBegin", "Linkedid": "1700000002.3", "CallerIDNum": "101",
     "DestCallerIDNum": "102", "DestExten": "102"},
    {"Event": "Hangup", "Linkedid": "1700000002.3", "Cause": "16"},
    {"Event": "Hangup", "Linkedid": "1700000009.9", "Cause": "16"},  # never started
]


def test_the_listener_records_calls_from_ami_events(app, ami, caller, operator):
    handled: list = []
    expected = 7  # the colleagues' DialBegin maps to nothing
    stop = asyncio.Event()

    def handle(event):
        apply_ami_event(app, event)
        handled.append(event)
        if len(handled) >= expected:
            stop.set()

    values = config.values("asterisk")

    async def run():
        listener = asyncio.create_task(asterisk.listen(values, handle, stop))
        await asyncio.to_thread(ami.wait_for_session)
        await asyncio.to_thread(ami.push, *INCOMING, *BUSY_OUT, *COLLEAGUES)
        await asyncio.wait_for(listener, 10)

    asterisk.run_sync(run())  # (the browser tests may have left a loop running here)
    login = ami.actions[0]
    assert (login["action"], login["username"], login["events"]) == ("Login", "hookdesk", "on")
    db.session.rollback()  # a fresh snapshot: the listener committed in its own session
    rows = {c.provider_call_id: c for c in db.session.scalars(db.select(Call))}
    assert sorted(rows) == ["1700000000.1", "1700000001.7"]  # nothing for colleagues
    incoming, outgoing = rows["1700000000.1"], rows["1700000001.7"]
    assert (incoming.direction, incoming.customer_id, incoming.agent_id, incoming.outcome) == (
        "in", caller.id, operator.id, "answered")
    assert (outgoing.direction, outgoing.extension, outgoing.agent_id, outgoing.outcome) == (
        "out", "101", operator.id, "busy")


def test_originate_rings_the_agent_then_the_number(ami):
    call_id = asterisk.originate(config.values("asterisk"), "101", "+79123456789")
    sent = next(a for a in ami.actions if a["action"] == "Originate")
    assert (sent["channel"], sent["exten"], sent["context"], sent["async"]) == (
        "PJSIP/101", "+79123456789", "from-internal", "true")
    assert sent["variable"] == f"HOOKDESK_CALL={call_id}"


def test_a_wrong_secret_or_no_server_is_a_clear_error(ami):
    values = {**config.values("asterisk"), "secret": "wrong"}
    with pytest.raises(ValueError, match="refused the login"):
        asterisk.originate(values, "101", "+79123456789")
    assert not any(a["action"] == "Originate" for a in ami.actions)
    with pytest.raises(ValueError, match="did not answer"):
        asterisk.originate({**values, "port": 1}, "101", "+79123456789")


def test_the_cli_refuses_without_configuration(runner):
    result = runner.invoke(args=["telephony", "ami-listen"])
    assert result.exit_code != 0 and "not configured" in result.output

