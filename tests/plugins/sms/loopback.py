"""Loopback servers the SMS tests talk to, on 127.0.0.1, each in a thread.

* ``SmppServer`` — a minimal SMSC written from the SMPP 3.4 specification (not
  with the client library under test): ``bind_transceiver`` (checks system_id and
  password), ``submit_sm`` (answers ``submit_sm_resp`` with a new message id, or
  a chosen error status), ``enquire_link``, ``unbind``, ``deliver_sm_resp``; it
  queues a delivery receipt (``deliver_sm``, esm_class 0x04) for every part and
  sends the queued receipts and replies when a session binds (as an SMSC
  delivers them later, to whoever is bound).
* ``SmsRuServer`` — answers ``/sms/send`` and ``/sms/status`` as SMS.ru's
  documented JSON API does; ``down = True`` makes it answer HTTP 503.
"""

from __future__ import annotations

import json
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BIND_TRX, SUBMIT, DELIVER, UNBIND, ENQUIRE = 0x09, 0x04, 0x05, 0x06, 0x15
RESP = 0x80000000


def _cstr(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\0", pos)
    return data[pos:end], end + 1


def parse_submit(body: bytes) -> dict:
    pos = 0
    service_type, pos = _cstr(body, pos)
    src_ton = body[pos]
    source, pos = _cstr(body, pos + 2)
    dst_ton, dst_npi = body[pos], body[pos + 1]
    destination, pos = _cstr(body, pos + 2)
    esm_class, _protocol, _priority = body[pos], body[pos + 1], body[pos + 2]
    _schedule, pos = _cstr(body, pos + 3)
    _validity, pos = _cstr(body, pos)
    registered, _replace, coding, _default, length = body[pos:pos + 5]
    message = body[pos + 5:pos + 5 + length]
    return {"source": source.decode(), "src_ton": src_ton, "destination": destination.decode(),
            "dst_ton": dst_ton, "dst_npi": dst_npi, "esm_class": esm_class,
            "registered_delivery": registered, "data_coding": coding, "message": message,
            "service_type": service_type}


def pdu(command: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command, status, sequence) + body


def deliver_body(source: str, destination: str, text: bytes, esm_class: int,
                 coding: int = 0, tlvs: bytes = b"") -> bytes:
    return (b"\0" + bytes((1, 1)) + source.encode() + b"\0" + bytes((1, 1)) +
            destination.encode() + b"\0" + bytes((esm_class, 0, 0)) + b"\0" + b"\0" +
            bytes((0, 0, coding, 0, len(text))) + text + tlvs)


def receipt(message_id: str, stat: str) -> bytes:
    text = (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:2612031200 done date:2612031201 stat:{stat} err:000 text:").encode()
    tlv = struct.pack(">HH", 0x001E, len(message_id) + 1) + message_id.encode() + b"\0"
    return deliver_body("79123456789", "Hookdesk", text, 0x04, tlvs=tlv)


class SmppServer:
    def __init__(self, system_id: str = "hookdesk", password: str = "secret"):
        self.system_id, self.password = system_id, password
        self.submits: list[dict] = []
        self.binds = 0
        self.receipts: list[bytes] = []          # deliver_sm bodies waiting for a session
        self.stat = "DELIVRD"                    # what the receipts say
        self.submit_status = 0                   # an error status to answer submit_sm with
        self.acked = 0                           # deliver_sm_resp received
        self._next_id = 1000
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer._serve(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _read(self, sock) -> tuple[int, int, int, bytes] | None:
        head = b""
        while len(head) < 16:
            chunk = sock.recv(16 - len(head))
            if not chunk:
                return None
            head += chunk
        length, command, status, sequence = struct.unpack(">IIII", head)
        body = b""
        while len(body) < length - 16:
            chunk = sock.recv(length - 16 - len(body))
            if not chunk:
                return None
            body += chunk
        return command, status, sequence, body

    def _flush(self, sock, sequence: list[int]) -> None:
        with self._lock:
            waiting, self.receipts = self.receipts, []
        for body in waiting:
            sequence[0] += 1
            sock.sendall(pdu(DELIVER, 0, sequence[0], body))

    def _serve(self, sock) -> None:
        sock.settimeout(5)
        bound, sequence = False, [0x10000]
        try:
            while True:
                got = self._read(sock)
                if got is None:
                    return
                command, _status, seq, body = got
                if command == BIND_TRX:
                    system_id, pos = _cstr(body, 0)
                    password, pos = _cstr(body, pos)
                    ok = (system_id.decode(), password.decode()) == (self.system_id,
                                                                     self.password)
                    sock.sendall(pdu(BIND_TRX | RESP, 0 if ok else 0x0E, seq,
                                     b"TestSMSC\0" if ok else b""))
                    if ok:
                        bound = True
                        self.binds += 1
                        self._flush(sock, sequence)
                elif command == SUBMIT and bound:
                    submit = parse_submit(body)
                    if self.submit_status:
                        sock.sendall(pdu(SUBMIT | RESP, self.submit_status, seq))
                        continue
                    with self._lock:
                        self._next_id += 1
                        message_id = f"m{self._next_id}"
                        submit["message_id"] = message_id
                        self.submits.append(submit)
                        if submit["registered_delivery"] & 1:
                            self.receipts.append(receipt(message_id, self.stat))
                    sock.sendall(pdu(SUBMIT | RESP, 0, seq, message_id.encode() + b"\0"))
                elif command == DELIVER | RESP:
                    self.acked += 1
                elif command == ENQUIRE:
                    sock.sendall(pdu(ENQUIRE | RESP, 0, seq))
                elif command == UNBIND:
                    sock.sendall(pdu(UNBIND | RESP, 0, seq))
                    return
                else:
                    sock.sendall(pdu(0x80000000, 0x03, seq))  # generic_nack: invalid command
        except (TimeoutError, OSError):
            return

    def reply(self, source: str, text: str) -> None:
        """A phone's SMS to us (not a receipt), sent on the next bound session."""
        with self._lock:
            self.receipts.append(deliver_body(source.lstrip("+"), "Hookdesk",
                                              text.encode("utf-16-be"), 0x00, coding=8))


class SmsRuServer:
    """SMS.ru's API as documented: JSON answers to ``/sms/send`` and ``/sms/status``."""

    def __init__(self):
        self.sent: list[dict] = []
        self.requests: list[tuple[str, dict]] = []
        self.down = False
        self.refuse: tuple[int, str] | None = None  # (status_code, text) for the number
        self.states: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, code: int, payload) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _form(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                query = urlsplit(self.path).query
                merged = {**parse_qs(query), **parse_qs(raw)}
                return {k: v[0] for k, v in merged.items()}

            def do_GET(self):  # noqa: N802
                self.do_POST()

            def do_POST(self):  # noqa: N802
                path, form = urlsplit(self.path).path, self._form()
                outer.requests.append((path, form))
                if outer.down:
                    return self._answer(503, {"status": "ERROR", "status_code": 500})
                if form.get("api_id") != "test-api-id":
                    return self._answer(200, {"status": "ERROR", "status_code": 200,
                                              "status_text": "Неправильный api_id"})
                if path == "/sms/send":
                    to = form["to"]
                    if outer.refuse:
                        code, text = outer.refuse
                        return self._answer(200, {"status": "OK", "status_code": 100, "sms": {
                            to: {"status": "ERROR", "status_code": code, "status_text": text}},
                            "balance": 10})
                    sms_id = f"000000-{len(outer.sent) + 10000001}"
                    outer.sent.append({**form, "sms_id": sms_id})
                    outer.states[sms_id] = 102
                    return self._answer(200, {"status": "OK", "status_code": 100, "sms": {
                        to: {"status": "OK", "status_code": 100, "sms_id": sms_id}},
                        "balance": 9.5})
                if path == "/sms/status":
                    found = {}
                    for sms_id in form["sms_id"].split(","):
                        code = outer.states.get(sms_id)
                        found[sms_id] = ({"status": "OK", "status_code": code, "cost": 0.5,
                                          "status_text": "Сообщение доставлено"
                                          if code == 103 else "Передано оператору"}
                                         if code else {"status": "ERROR", "status_code": -1,
                                                       "status_text": "Не найдено"})
                    return self._answer(200, {"status": "OK", "status_code": 100, "sms": found,
                                              "balance": 9.5})
                return self._answer(404, {"status": "ERROR", "status_code": 211})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
