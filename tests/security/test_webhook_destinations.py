"""Defect 6 of issue 9: webhooks (and a rule's webhook action) must not reach
inside the deployment — at save time, at send time after DNS resolution (no
rebinding), through redirects — unless the integrator allow-lists it; the
delivery log keeps status and time, never the answer's body."""

import ipaddress
import json
import re
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import netguard, outbox
from kernel.db import db, utcnow
from kernel.models import OutboxMessage
from kernel.services import tickets, tokens
from plugins.triggers import service as rules
from plugins.webhooks import service as webhooks
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk", "webhooks", "triggers")
LOOPBACK = pytest.mark.app_config(HOOKDESK_WEBHOOK_ALLOW="127.0.0.1")

INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook", "http://127.1/", "http://0x7f000001/", "http://2130706433/",
    "http://017700000001/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.0.0.1./",
    "http://[::1]/", "http://[0:0:0:0:0:0:0:1]/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/", "http://[::ffff:a9fe:a9fe]/", "http://169.254.169.254/latest/",
    "http://[fe80::1%25eth0]/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://[::]/", "http://224.0.0.1/",
    "http://255.255.255.255/", "http://240.0.0.1/", "http://[fc00::1]/", "http://[ff02::1]/",
    "http://[2002:7f00:1::]/", "http://[64:ff9b::a9fe:a9fe]/", "https://localhost/",
    "http://api.localhost/", "http://metadata.google.internal/",
]


class Receiver:
    """A loopback HTTP server: answers ``status`` with ``body`` and ``headers``."""

    def __init__(self, status=200, body=b"ok", headers=None):
        self.calls = []
        self.status, self.body, self.headers = status, body, headers or {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                receiver.calls.append((self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(receiver.status)
                for key, value in receiver.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def admin_token(admin):
    return {"Authorization": f"Bearer {tokens.create(admin, 'test')[1]}"}


def _deliveries():
    return db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def _fake_dns(monkeypatch, answers: dict[str, list[list[str]]], calls: list | None = None):
    """``answers[host]``: the successive answers of a resolver (the last one repeats)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in answers:
            if calls is not None:
                calls.append(host)
            found = answers[host]
            ips = found.pop(0) if len(found) > 1 else found[0]
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (ip, port)) for ip in ips]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


# -- save time: API, CLI, the rules' form and API -----------------------------------------


def test_api_refuses_internal_destinations_at_save_time(app, client, admin_token):
    for url in INTERNAL_URLS:
        response = client.post("/api/v1/webhooks", json={"url": url}, headers=admin_token)
        assert response.status_code == 422, url
        assert "internal" in " ".join(response.get_json()["errors"]["url"])
        rule = {"name": "Hook", "events": ["created"],
                "actions": [{"action": "triggers.webhook", "params": {"url": url}}]}
        response = client.post("/api/v1/triggers/rules", json=rule, headers=admin_token)
        assert response.status_code == 422, url
        assert "actions.0.params.url" in response.get_json()["errors"]
    assert client.get("/api/v1/webhooks", headers=admin_token).get_json() == []


def test_patch_cli_and_rule_form_refuse_too(app, client, admin, admin_token, runner):
    endpoint = webhooks.create({"url": "https://crm.example.ru/hook"})
    response = client.patch(f"/api/v1/webhooks/{endpoint.id}",
                            json={"url": "http://169.254.169.254/"}, headers=admin_token)
    assert response.status_code == 422 and "url" in response.get_json()["errors"]
    result = runner.invoke(args=["webhooks", "add", "http://0x7f000001/"])
    assert result.exit_code != 0 and "internal address" in result.output
    login(client, admin)
    page = client.post("/admin/triggers/new", data={
        "name": "Hook", "position": "100", "events": '["created"]', "conditions": "",
        "actions": json.dumps([{"action": "triggers.webhook",
                                "params": {"url": "http://[::ffff:127.0.0.1]/"}}])})
    assert page.status_code == 422
    assert "actions.0.params.url" in page.get_data(as_text=True)


def test_public_addresses_are_accepted(app, admin_token, client):
    for url in ("https://crm.example.ru/hook", "http://93.184.216.34/x",
                "https://[2606:4700:4700::1111]/hook", "http://[::ffff:8.8.8.8]/"):
        response = client.post("/api/v1/webhooks", json={"url": url}, headers=admin_token)
        assert response.status_code == 201, (url, response.get_json())


@pytest.mark.app_config(HOOKDESK_WEBHOOK_ALLOW="10.20.0.0/16, ::1, crm.corp.internal")
def test_the_allow_list_admits_networks_and_hosts(app, admin_token, client):
    for url in ("http://10.20.3.4/hook", "http://[::1]:8080/", "http://crm.corp.internal/"):
        response = client.post("/api/v1/webhooks", json={"url": url}, headers=admin_token)
        assert response.status_code == 201, (url, response.get_json())
    response = client.post("/api/v1/webhooks", json={"url": "http://10.21.0.1/"},
                           headers=admin_token)
    assert response.status_code == 422


# -- every notation (property) ------------------------------------------------------------

_INTERNAL_NETS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")]


def _notations(ip: ipaddress.IPv4Address, draw) -> str:
    """``ip`` written in one of the forms inet_aton and URL parsers accept."""
    n, parts = int(ip), ip.packed
    style = draw(st.sampled_from(["dotted", "int", "hex", "octal", "short2", "short3",
                                  "mixed", "mapped", "mapped_hex", "trailing_dot"]))
    if style == "dotted":
        return str(ip)
    if style == "int":
        return str(n)
    if style == "hex":
        return hex(n)
    if style == "octal":
        return "0" + oct(n)[2:]
    if style == "short2":  # a.b  (b: 24 bits)
        return f"{parts[0]}.{n & 0xFFFFFF}"
    if style == "short3":  # a.b.c (c: 16 bits)
        return f"{parts[0]}.{parts[1]}.{n & 0xFFFF}"
    if style == "mixed":
        forms = [draw(st.sampled_from([str(p), hex(p), "0" + oct(p)[2:] if p else "0"]))
                 for p in parts]
        return ".".join(forms)
    if style == "mapped":
        return f"[::ffff:{ip}]"
    if style == "mapped_hex":
        return f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]"
    return f"{ip}."


@st.composite
def internal_urls(draw):
    net = draw(st.sampled_from(_INTERNAL_NETS))
    offset = draw(st.integers(min_value=0, max_value=net.num_addresses - 1))
    ip = net.network_address + offset
    return f"http://{_notations(ip, draw)}:{draw(st.integers(1, 65535))}/p", ip


@st.composite
def public_urls(draw):
    n = draw(st.integers(min_value=0, max_value=2**32 - 1))
    ip = ipaddress.IPv4Address(n)
    if netguard.is_internal(ip):
        ip = ipaddress.IPv4Address("93.184.216.34")
    return f"http://{_notations(ip, draw)}/p", ip


@settings(max_examples=300, deadline=None)
@given(internal_urls())
def test_property_internal_addresses_are_refused_in_any_notation(case):
    url, ip = case
    policy = netguard.Policy()
    assert netguard.url_problem(url, policy) is not None, (url, ip)
    with pytest.raises(netguard.DestinationRefused):
        netguard.post(url, b"{}", {}, 1, policy=policy)


@settings(max_examples=200, deadline=None)
@given(public_urls())
def test_property_public_addresses_pass_the_save_check(case):
    url, ip = case
    assert netguard.url_problem(url, netguard.Policy()) is None, (url, ip)
    assert netguard.parse_host_ip(url.split("//")[1].split("/")[0]) is not None


@settings(max_examples=100, deadline=None)
@given(st.ip_addresses(v=6))
def test_property_ipv6_is_refused_exactly_when_internal(ip):
    problem = netguard.url_problem(f"http://[{ip}]/", netguard.Policy())
    assert (problem is not None) == netguard.is_internal(ip)
    if ip.ipv4_mapped is not None and netguard.is_internal(ip.ipv4_mapped):
        assert problem is not None


# -- send time: after DNS, no rebinding, no redirects ------------------------------------------


def test_a_name_that_resolves_inside_is_refused_at_send_time(app, agent, receiver, monkeypatch):
    _fake_dns(monkeypatch, {"hooks.example.com": [["127.0.0.1"]]})
    url = f"http://hooks.example.com:{receiver.port}/hook"
    webhooks.create({"url": url, "events": ["created"]})  # nothing to see without DNS
    tickets.create({"subject": "Where does it go"}, actor=agent)
    (row,) = _deliveries()
    assert row.status == "failed" and row.attempts == 1
    assert "internal address" in row.last_error and "127.0.0.1" in row.last_error
    assert receiver.calls == []


def test_an_answer_mixing_public_and_internal_addresses_is_refused(app, monkeypatch):
    _fake_dns(monkeypatch, {"mixed.example.com": [["93.184.216.34", "10.0.0.5"]]})
    with app.app_context(), pytest.raises(netguard.DestinationRefused):
        netguard.resolve("mixed.example.com", 80, netguard.Policy())


def test_dns_rebinding_cannot_switch_the_address_after_the_check(app, monkeypatch):
    """The name is resolved once; the connection goes to the address checked."""
    calls, connected = [], []
    _fake_dns(monkeypatch, {"rebind.example.com": [["93.184.216.34"], ["127.0.0.1"]]}, calls)

    def connect(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(netguard.u3connection, "create_connection", connect)
    import requests

    with pytest.raises(requests.ConnectionError):
        netguard.post("http://rebind.example.com/hook", b"{}", {}, 1, policy=netguard.Policy())
    assert calls == ["rebind.example.com"]
    assert connected == [("93.184.216.34", 80)]


@LOOPBACK
def test_redirects_are_not_followed(app, agent):
    inner = Receiver()
    outer = Receiver(status=302, headers={"Location": inner.url})
    try:
        webhooks.create({"url": outer.url, "events": ["created"]})
        tickets.create({"subject": "Redirect me"}, actor=agent)
        (row,) = _deliveries()
        assert row.status == "failed" and "redirects are not followed" in row.last_error
        assert len(outer.calls) == 1 and inner.calls == []
    finally:
        inner.close()
        outer.close()


@LOOPBACK
def test_rule_webhook_is_checked_at_send_time_and_redirects_are_not_followed(app, agent):
    inner = Receiver()
    outer = Receiver(status=307, headers={"Location": "http://169.254.169.254/"})
    try:
        rules.create({"name": "Hook", "events": ["created"], "actions": [
            {"action": "triggers.webhook", "params": {"url": outer.url}}]})
        tickets.create({"subject": "Rule hook"}, actor=agent)
        (row,) = _deliveries()
        assert row.status == "failed" and "redirects are not followed" in row.last_error
        assert len(outer.calls) == 1
    finally:
        inner.close()
        outer.close()


def test_rule_webhook_to_a_name_resolving_inside_is_refused(app, agent, receiver, monkeypatch):
    _fake_dns(monkeypatch, {"rules.example.com": [["::1"]]})
    rules.create({"name": "Hook", "events": ["created"], "actions": [
        {"action": "triggers.webhook",
         "params": {"url": f"http://rules.example.com:{receiver.port}/x"}}]})
    tickets.create({"subject": "Rule hook"}, actor=agent)
    (row,) = _deliveries()
    assert row.status == "failed" and "internal address" in row.last_error
    assert receiver.calls == []


@LOOPBACK
def test_allow_listed_loopback_is_delivered(app, agent, receiver):
    webhooks.create({"url": receiver.url, "events": ["created"]})
    tickets.create({"subject": "Allowed"}, actor=agent)
    assert [r.status for r in _deliveries()] == ["sent"] and len(receiver.calls) == 1


# -- the delivery log: no bodies; the first retry as documented ----------------------------------


@LOOPBACK
def test_the_answer_body_is_never_stored_or_shown(app, agent, client, admin_token):
    secret = b"root:x:0:0:SECRET-FROM-INSIDE"
    inner = Receiver(status=500, body=secret)
    try:
        endpoint = webhooks.create({"url": inner.url, "events": ["created"]})
        tickets.create({"subject": "Leak?"}, actor=agent)
        (row,) = _deliveries()
        assert row.status == "pending"
        assert re.fullmatch(r"TemporaryFailure: HTTP 500 \(\d+ ms\)", row.last_error)
        log = client.get(f"/api/v1/webhooks/{endpoint.id}/deliveries", headers=admin_token)
        assert log.status_code == 200
        assert b"SECRET-FROM-INSIDE" not in log.data
        assert log.get_json()[0]["last_error"] == row.last_error
        # A row written before the upgrade, with the body in it, shows the status only.
        row.last_error = "TemporaryFailure: HTTP 500: root:x:0:0:SECRET-FROM-INSIDE"
        db.session.commit()
        log = client.get(f"/api/v1/webhooks/{endpoint.id}/deliveries", headers=admin_token)
        assert log.get_json()[0]["last_error"] == "TemporaryFailure: HTTP 500"
    finally:
        inner.close()


@LOOPBACK
def test_the_first_retry_comes_when_the_api_doc_says(app, agent):
    doc = Path(__file__).resolve().parents[2].joinpath("docs", "api.md").read_text()
    doc = " ".join(doc.split())
    assert "retried 1 minute after the first failure" in doc
    inner = Receiver(status=503)
    try:
        webhooks.create({"url": inner.url, "events": ["created"]})
        before = utcnow()
        tickets.create({"subject": "Retry"}, actor=agent)
        (row,) = _deliveries()
        delay = row.next_attempt_at - before
        assert timedelta(seconds=59) < delay < timedelta(seconds=70)
        assert outbox.sweep() == 0  # not due before the minute is over
    finally:
        inner.close()
