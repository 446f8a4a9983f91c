"""SMPP 3.4 through smpplib (a maintained client library).

Sending opens a session, ``bind_transceiver``, one ``submit_sm`` a part (a
longer text is cut by ``segments.split`` and each part carries a 6-octet UDH,
``esm_class`` 0x40; GSM-7 text goes as unpacked septets with ``data_coding`` 0,
any other as UCS-2 with ``data_coding`` 8), reads every ``submit_sm_resp`` (its
``message_id`` is the part's id), handles any ``deliver_sm`` that arrives
meanwhile, then ``unbind``. Delivery receipts arrive later as ``deliver_sm``
with ``esm_class`` 0x04 on a bound session: ``listen()`` keeps one open
(``hookdesk sms smpp-listen``) and hands each receipt to ``on_report``;
a ``deliver_sm`` that is not a receipt is a customer's reply, handed to ``on_reply``
(a "STOP" opts the number out).

Errors: a refused connection, a bind refused, a timeout, ``ESME_RTHROTTLED``,
``ESME_RMSGQFUL`` or ``ESME_RSYSERR`` are temporary; any other refusal of a
``submit_sm`` (e.g. ``ESME_RINVDSTADR``, a bad number) is permanent.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections.abc import Callable

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions

from kernel.outbox import PermanentFailure, TemporaryFailure
from plugins.sms import segments
from plugins.sms.gateways import Report

log = logging.getLogger("hookdesk.sms.smpp")
TIMEOUT = 10
RECEIPT_FLAG = 0x04  # esm_class: an SMSC delivery receipt (SMPP 3.4 §5.2.12)
TEMPORARY_STATUSES = {c.SMPP_ESME_RTHROTTLED, c.SMPP_ESME_RMSGQFUL, c.SMPP_ESME_RSYSERR,
                      0x00000014}
RECEIPT = re.compile(r"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)(?:.*?err:(?P<err>\w+))?",
                     re.IGNORECASE | re.DOTALL)
STATES = {"DELIVRD": "delivered", "EXPIRED": "undelivered", "DELETED": "undelivered",
          "UNDELIV": "undelivered", "REJECTD": "undelivered", "UNKNOWN": "undelivered",
          "ACCEPTD": "sent", "ENROUTE": "sent"}
# message_state TLV (SMPP 3.4 §5.2.28) when the text carries no "stat:".
TLV_STATES = {1: "sent", 2: "delivered", 3: "undelivered", 4: "undelivered", 5: "undelivered",
              6: "sent", 7: "undelivered", 8: "undelivered"}


def parse_receipt(pdu) -> Report | None:
    """The delivery report in a ``deliver_sm`` receipt, or None when it is none."""
    text = (pdu.short_message or b"")
    text = text.decode("latin-1", "replace") if isinstance(text, bytes) else str(text)
    match = RECEIPT.search(text)
    provider_id = getattr(pdu, "receipted_message_id", None)
    if isinstance(provider_id, bytes):
        provider_id = provider_id.decode("latin-1")
    state = None
    if match:
        provider_id = provider_id or match.group("id")
        state = STATES.get(match.group("stat").upper(), "sent")
    elif getattr(pdu, "message_state", None):
        state = TLV_STATES.get(int(pdu.message_state), "sent")
    if not provider_id or state is None:
        return None
    detail = f"SMPP {match.group('stat').upper()}" if match else "SMPP"
    if match and match.group("err"):
        detail += f" err:{match.group('err')}"
    return Report(str(provider_id), state, detail)


def _address(value: str) -> tuple[int, int, str]:
    """(ton, npi, address): a number is international; a name is alphanumeric."""
    digits = value.lstrip("+")
    if digits.isdigit():
        return c.SMPP_TON_INTL, c.SMPP_NPI_ISDN, digits
    return c.SMPP_TON_ALNUM, c.SMPP_NPI_UNK, value[:11]


class SmppGateway:
    key = "smpp"

    def __init__(self, host: str, port: int, system_id: str, password: str = "",
                 system_type: str = "", sender: str = "", timeout: float = TIMEOUT):
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.sender, self.timeout = sender, timeout
        self.on_report: Callable[[Report], None] = lambda report: None
        self.on_reply: Callable[[str, str], None] = lambda phone, text: None

    # -- the session -------------------------------------------------------------------

    def _session(self) -> smpplib.client.Client:
        client = smpplib.client.Client(self.host, self.port, timeout=self.timeout,
                                       allow_unknown_opt_params=True,
                                       logger_name="hookdesk.sms.smpp.client")
        client.set_message_received_handler(self._received)
        try:
            client.connect()
            client.bind_transceiver(system_id=self.system_id, password=self.password,
                                    system_type=self.system_type)
        except smpplib.exceptions.PDUError as exc:
            client.disconnect()
            raise TemporaryFailure(f"The SMSC refused to bind: {exc.args[0]}") from exc
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            client.disconnect()
            raise TemporaryFailure(
                f"Cannot reach the SMSC at {self.host}:{self.port}: {exc}") from exc
        return client

    @staticmethod
    def _close(client: smpplib.client.Client) -> None:
        with contextlib.suppress(smpplib.exceptions.PDUError,
                                 smpplib.exceptions.ConnectionError, OSError):
            client.unbind()
        client.disconnect()

    def _received(self, pdu, **_kwargs):
        """A ``deliver_sm``: a receipt (esm_class 0x04) or a reply from a phone."""
        if int(getattr(pdu, "esm_class", 0) or 0) & RECEIPT_FLAG:
            report = parse_receipt(pdu)
            if report is not None:
                self.on_report(report)
            return c.SMPP_ESME_ROK
        raw = pdu.short_message or b""
        text = segments.decode(raw, int(getattr(pdu, "data_coding", 0) or 0))
        source = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) \
            else str(pdu.source_addr)
        self.on_reply("+" + source.lstrip("+"), text)
        return c.SMPP_ESME_ROK

    # -- sending -----------------------------------------------------------------------

    def send(self, phone: str, text: str, key: str) -> list[str]:
        parts = segments.split(text)
        encoding = segments.encoding_of(text)
        src_ton, src_npi, source = _address(self.sender or "")
        _ton, _npi, destination = _address(phone)
        reference = random.randint(0, 255)
        client = self._session()
        ids: list[str] = []
        try:
            pending: list[int] = []
            answers: dict[int, object] = {}
            client.set_message_sent_handler(lambda pdu, **_: answers.__setitem__(pdu.sequence,
                                                                                 pdu))
            for number, part in enumerate(parts, start=1):
                payload, coding = segments.encode(part, encoding)
                esm = c.SMPP_MSGMODE_DEFAULT
                if len(parts) > 1:
                    payload = bytes((5, 0, 3, reference, len(parts), number)) + payload
                    esm |= c.SMPP_GSMFEAT_UDHI
                pdu = client.send_message(
                    source_addr_ton=src_ton, source_addr_npi=src_npi, source_addr=source,
                    dest_addr_ton=c.SMPP_TON_INTL, dest_addr_npi=c.SMPP_NPI_ISDN,
                    destination_addr=destination, short_message=payload, data_coding=coding,
                    esm_class=esm, registered_delivery=c.SMPP_SMSC_DELIVERY_RECEIPT_BOTH)
                pending.append(pdu.sequence)
            deadline = time.monotonic() + self.timeout
            while any(seq not in answers for seq in pending):
                if time.monotonic() > deadline:
                    raise TemporaryFailure("The SMSC did not answer submit_sm in time.")
                client.read_once(auto_send_enquire_link=False)
            ids = [_message_id(answers[seq]) for seq in pending]
        except smpplib.exceptions.PDUError as exc:
            status = exc.args[1] if len(exc.args) > 1 else 0
            text_ = f"The SMSC refused the message: {exc.args[0]}"
            if status in TEMPORARY_STATUSES or not status:
                raise TemporaryFailure(text_) from exc
            raise PermanentFailure(text_) from exc
        except (TimeoutError, smpplib.exceptions.ConnectionError, OSError) as exc:
            raise TemporaryFailure(f"The SMSC connection broke: {exc}") from exc
        finally:
            self._close(client)
        return ids

    # -- receiving ---------------------------------------------------------------------

    def listen(self, seconds: float | None = None, until: Callable[[], bool] | None = None,
               poll: float = 0.5) -> None:
        """Stay bound and take receipts and replies for ``seconds`` (forever with None),
        or until ``until()`` says so. Answers the SMSC's ``enquire_link``."""
        client = self._session()
        client._socket.settimeout(poll)  # noqa: SLF001 - smpplib has no setter
        stop_at = None if seconds is None else time.monotonic() + seconds
        try:
            while not (until and until()) and (stop_at is None or time.monotonic() < stop_at):
                try:
                    client.read_once(auto_send_enquire_link=False)
                except TimeoutError:
                    continue
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            raise TemporaryFailure(f"The SMSC connection broke: {exc}") from exc
        finally:
            self._close(client)


def _message_id(pdu) -> str:
    value = pdu.message_id
    return value.decode() if isinstance(value, bytes) else str(value)
