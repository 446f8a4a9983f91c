"""Outgoing HTTP to addresses an admin typed (webhooks, a rule's webhook action):
never inside the deployment's own network unless the integrator allows it.

An admin could point a webhook at ``http://127.0.0.1:5432``, ``http://[::1]``,
the cloud metadata service ``169.254.169.254``, a private range or the same
written as ``0x7f000001``, ``2130706433``, ``017700000001`` or ``127.1``. So:

* **At save time** ``url_problem(url)`` refuses an address written as an
  internal IP in any notation (IPv4 in inet_aton forms, IPv6, IPv4-mapped
  IPv6, zone ids) and the names ``localhost``/``*.localhost``/``*.internal``,
  with a message for the URL field.
* **At send time** ``post()`` resolves the host once, checks *every* address
  it resolves to, and connects to the checked address itself (the TLS name
  and ``Host`` header stay the URL's), so DNS answering differently between
  the check and the connection ("rebinding") changes nothing. Redirects are
  not followed; proxies from the environment are not used.
* Refused: loopback, private (RFC 1918, ``fc00::/7``), link-local
  (``169.254/16``, ``fe80::/10``), shared (``100.64/10``), multicast, reserved,
  unspecified, documentation and benchmarking ranges, site-local IPv6 — any
  address that is not globally routable — and IPv6 forms that embed such an
  IPv4 address (``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``).
* ``HOOKDESK_WEBHOOK_ALLOW`` (comma- or space-separated) lets an integrator
  allow networks (``10.20.0.0/16``, ``127.0.0.1``, ``::1``) and host names
  (``crm.corp.local``, ``*.corp.local``) that would otherwise be refused.

Only status codes and timings are kept of an answer: the body is never read.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as u3connection

from kernel import runtime
from kernel.i18n import N_

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ALLOW_OPTION = "HOOKDESK_WEBHOOK_ALLOW"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")
_LOCAL_NAMES = ("localhost", ".localhost", ".internal", ".localdomain")


class DestinationRefused(Exception):  # noqa: N818 - reads as what happened
    """The URL leads to an address outgoing calls may not reach."""


# -- addresses --------------------------------------------------------------------


def parse_host_ip(host: str) -> IPAddress | None:
    """The IP address ``host`` denotes when it is an address literal in any
    notation a resolver accepts (``127.1``, ``0x7f000001``, ``2130706433``,
    ``017700000001``, ``[::ffff:127.0.0.1]``, ``fe80::1%eth0``); else None."""
    text = unquote(host or "").strip().strip("[]")
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(text.rstrip(".")) and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text.rstrip(".")))
        except OSError:
            return None
    return None


def is_internal(ip: IPAddress) -> bool:
    """Whether ``ip`` is anything but a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(ip.packed)  # drop a zone id
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(ip.packed[-4:])
        if embedded is not None and is_internal(embedded):
            return True
        if ip.ipv4_mapped is not None:
            return False
        if ip.is_site_local:
            return True
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


@dataclass(frozen=True)
class Policy:
    """What the integrator allowed (``HOOKDESK_WEBHOOK_ALLOW``)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, value: str | None = None) -> Policy:
        if value is None:
            value = runtime.config(ALLOW_OPTION, "") or ""
        networks: list[IPNetwork] = []
        hosts: list[str] = []
        for item in re.split(r"[\s,]+", str(value).strip()):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.append(item.lower().rstrip("."))
        return cls(tuple(networks), tuple(hosts))

    def allows_host(self, host: str) -> bool:
        host = (host or "").lower().rstrip(".")
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:]))
                   for h in self.hosts)

    def permits(self, ip: IPAddress, host: str = "") -> bool:
        if not is_internal(ip) or self.allows_host(host):
            return True
        plain = ipaddress.ip_address(ip.packed)
        mapped = getattr(plain, "ipv4_mapped", None)
        return any(plain in net or (mapped is not None and mapped in net)
                   for net in self.networks)


def _refusal(ip: IPAddress, host: str) -> str:
    shown = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
    return (f"{shown} is an internal address (loopback, private, link-local or reserved); "
            f"outgoing calls may not reach it unless {ALLOW_OPTION} allows it.")


def url_problem(url: str, policy: Policy | None = None) -> str | None:
    """Why ``url`` cannot be a webhook address (a message for the URL field), or
    None. Checks what can be known without DNS; ``post()`` checks the rest."""
    policy = policy or Policy.from_config()
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "An http:// or https:// address is required."
    if parts.scheme not in ("http", "https") or not host or len(text) > 2000:
        return "An http:// or https:// address is required."
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        return N_("The address may not contain spaces or control characters.")
    ip = parse_host_ip(host)
    if ip is not None:
        return None if policy.permits(ip, host) else _refusal(ip, host)
    name = host.lower().rstrip(".")
    if (name == "localhost" or name.endswith(_LOCAL_NAMES)) and not policy.allows_host(name):
        return (f"{host} names this machine or an internal network; outgoing calls may not "
                f"reach it unless {ALLOW_OPTION} allows it.")
    return None


def resolve(host: str, port: int, policy: Policy) -> list[tuple]:
    """``getaddrinfo`` entries for ``host``, every one checked; raises
    ``DestinationRefused`` if any address is not permitted."""
    literal = parse_host_ip(host)
    target = str(ipaddress.ip_address(literal.packed)) if literal is not None else host
    try:
        infos = socket.getaddrinfo(target, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise DestinationRefused(f"{host}: not a valid host name.") from exc
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not policy.permits(ip, host):
            raise DestinationRefused(_refusal(ip, host))
    return infos


# -- connections to the checked address ----------------------------------------------


class _Guarded:
    """Mixed into urllib3's connections: resolve once, check, connect to the IP."""

    policy: Policy = Policy()
    host: str
    port: int
    timeout: float | None
    source_address: tuple | None
    socket_options: list | None

    def _new_conn(self):
        from urllib3.exceptions import NewConnectionError

        infos = resolve(self.host, self.port, self.policy)
        error: OSError | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            try:
                return u3connection.create_connection(
                    (sockaddr[0], sockaddr[1]), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except OSError as exc:  # try the next checked address
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")


def _adapter(policy: Policy) -> HTTPAdapter:
    http_conn = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"policy": policy})
    https_conn = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"policy": policy})
    pools = {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    return GuardedAdapter(max_retries=0)


def session(policy: Policy | None = None) -> requests.Session:
    """A ``requests`` session that reaches only permitted addresses."""
    policy = policy or Policy.from_config()
    s = requests.Session()
    s.trust_env = False  # an HTTP_PROXY from the environment would bypass the check
    adapter = _adapter(policy)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


@dataclass(frozen=True)
class Answer:
    status: int
    elapsed_ms: int

    def describe(self) -> str:
        return f"HTTP {self.status} ({self.elapsed_ms} ms)"


def post(url: str, data: bytes, headers: dict[str, str], timeout: float,
         policy: Policy | None = None, http: requests.Session | None = None) -> Answer:
    """POST ``data`` to ``url`` if it leads to a permitted address. Returns the
    status and time only (the body is not read); redirects are not followed.
    Raises ``DestinationRefused`` or ``requests.RequestException``."""
    policy = policy or Policy.from_config()
    problem = url_problem(url, policy)
    if problem:
        raise DestinationRefused(problem)
    started = time.monotonic()
    client = http or session(policy)
    try:
        response = client.post(url, data=data, headers=headers, timeout=timeout,
                               allow_redirects=False, stream=True)
        response.close()
    finally:
        if http is None:
            client.close()
    return Answer(response.status_code, int((time.monotonic() - started) * 1000))
