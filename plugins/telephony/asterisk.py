"""Asterisk through its Manager Interface (AMI), with the panoramisk client.

``hookdesk telephony ami-listen`` keeps a session open, logged in with the AMI
user of the admin page, and turns the channel events of a call into call events:

* ``DialBegin`` — a call starts; the caller is an extension (a number of at most
  "internal digits" digits) for an outgoing call, an outside number for an
  incoming one; the call's id is the channels' ``Linkedid``;
* ``DialEnd`` with ``DialStatus: ANSWER`` — answered at the dialled extension;
* ``Hangup`` — the end (``Cause: 17`` is busy).

Click-to-call sends the ``Originate`` action: the agent's channel (``PJSIP/101``
from the channel template) rings first, then the dialplan connects it to the
number in the configured context.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import uuid
from collections.abc import Callable
from typing import Any

from panoramisk import Manager

from kernel.i18n import N_
from plugins.telephony.calls import CallEvent, CallFailed

PROVIDER = "asterisk"
TIMEOUT_SECONDS = 10
log = logging.getLogger("hookdesk.telephony.ami")


def _digits(number: str) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


def is_internal(number: str, internal_digits: int) -> bool:
    digits = _digits(number)
    return bool(digits) and len(digits) <= internal_digits and digits == (number or "").strip()


def to_call_event(message: Any, internal_digits: int = 5) -> CallEvent | None:
    """An AMI event -> a ``CallEvent`` (None for events that say nothing about an
    outside call)."""
    name = message.get("Event", "")
    call_id = message.get("Linkedid") or message.get("Uniqueid") or ""
    if not call_id:
        return None
    if name == "DialBegin":
        caller = message.get("CallerIDNum", "")
        dialled = message.get("DestCallerIDNum") or message.get("DestExten") or ""
        caller_inside = is_internal(caller, internal_digits)
        dialled_inside = is_internal(dialled, internal_digits)
        if caller_inside and dialled_inside:
            return None  # a call between colleagues
        if caller_inside:
            number = message.get("DestExten") or dialled
            return CallEvent(PROVIDER, call_id, "start", "out", caller, number, caller)
        return CallEvent(PROVIDER, call_id, "start", "in", caller,
                         message.get("Exten") or dialled, "")
    if name == "DialEnd" and message.get("DialStatus", "").upper() == "ANSWER":
        dialled = message.get("DestCallerIDNum") or ""
        extension = dialled if is_internal(dialled, internal_digits) else ""
        return CallEvent(PROVIDER, call_id, "answer", extension=extension)
    if name == "Hangup":
        busy = str(message.get("Cause", "")).strip() == "17"
        return CallEvent(PROVIDER, call_id, "end", disposition="busy" if busy else "")
    return None


def _manager(values: dict[str, Any], loop, events: str) -> Manager:
    return Manager(loop=loop, host=values["host"], port=int(values["port"]),
                   username=values["username"], secret=values["secret"], events=events,
                   ping_delay=30, ping_interval=30, reconnect_timeout=5)


async def _login(manager: Manager) -> None:
    """Connect and log in, or raise ``CallFailed`` saying why not."""
    try:
        await asyncio.wait_for(manager.connect(), TIMEOUT_SECONDS)
    except (TimeoutError, OSError) as exc:
        raise CallFailed(N_("Asterisk's manager interface did not answer."),
                         type(exc).__name__) from exc
    for _ in range(200):  # the login is sent from the connection's callback
        if manager.authenticated or manager.authenticated_future is not None:
            break
        await asyncio.sleep(0.005)
    future = manager.authenticated_future
    if future is not None:
        response = await asyncio.wait_for(future, TIMEOUT_SECONDS)
        if not response.success:
            raise CallFailed(N_("Asterisk refused the login."), response.get("Message", ""))
    if not manager.authenticated and future is None:
        raise CallFailed(N_("Asterisk refused the login."))


def originate(values: dict[str, Any], extension: str, number: str) -> str:
    """Ring the agent's channel, then dial ``number``; returns the call's id."""
    call_id = f"originate-{uuid.uuid4().hex}"

    async def run() -> None:
        manager = _manager(values, asyncio.get_running_loop(), "off")
        try:
            await _login(manager)
            response = await asyncio.wait_for(manager.send_action({
                "Action": "Originate",
                "Channel": values["channel"].replace("{extension}", extension),
                "Exten": number, "Context": values["context"], "Priority": "1",
                "CallerID": number, "Async": "true", "Timeout": "30000",
                "Variable": f"HOOKDESK_CALL={call_id}",
            }, as_list=False), TIMEOUT_SECONDS)
            if not response.success:
                raise CallFailed(N_("Asterisk refused the call."), response.get("Message", ""))
        except TimeoutError as exc:
            raise CallFailed(N_("Asterisk did not answer in time.")) from exc
        finally:
            manager.close()

    run_sync(run())
    return call_id


def run_sync(coroutine) -> Any:
    """``asyncio.run``, also from a thread whose own event loop is running (an async
    server, or a test harness driving a browser): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def listen(values: dict[str, Any], handle: Callable[[CallEvent], None],
                 stop: asyncio.Event | None = None) -> None:
    """Stay logged in and hand each call event to ``handle`` until ``stop`` is set.
    panoramisk reconnects by itself when the connection drops."""
    manager = _manager(values, asyncio.get_running_loop(), "on")
    digits = int(values.get("internal_digits") or 5)

    def on_event(_manager, message) -> None:
        event = to_call_event(message, digits)
        if event is None:
            return
        try:
            handle(event)
        except Exception:  # noqa: BLE001 - one bad event must not stop the session
            log.exception("telephony: AMI event %s not applied", message.get("Event"))

    for name in ("DialBegin", "DialEnd", "Hangup"):
        manager.register_event(name, on_event)
    await _login(manager)
    log.info("telephony: listening to Asterisk at %s:%s", values["host"], values["port"])
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        manager.close()
