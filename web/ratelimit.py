"""Rate limits on the doors a stranger can knock on (X5): logging in, password
reset, registration, public forms and API token use.

Built on Flask-Limiter (its ``limits`` strategies and storages), one limiter per
app in ``app.extensions["hookdesk_limiter"]``. Each *rule* is a config option
holding a limits string — ``"10 per 15 minutes"``, several joined by ``;`` —
and is counted per *key*: the client's address (IPv6 by its /64 network) or an
account (the e-mail typed, hashed; the prefix of an API token):

=================  ==========================================  ========================
rule               counts                                       option
=================  ==========================================  ========================
login_account      log-in attempts for one e-mail (a success   HOOKDESK_RATELIMIT_LOGIN_ACCOUNT
                   clears it)
login_address      log-in attempts from one address            HOOKDESK_RATELIMIT_LOGIN_ADDRESS
reset_account      reset requests for one e-mail               HOOKDESK_RATELIMIT_RESET_ACCOUNT
reset_address      reset requests from one address             HOOKDESK_RATELIMIT_RESET_ADDRESS
register_address   registrations from one address              HOOKDESK_RATELIMIT_REGISTER_ADDRESS
token_failures     failed API token authentications, per       HOOKDESK_RATELIMIT_TOKEN_FAILURES
                   address and per token prefix
public_form        posts of other public forms, per address    HOOKDESK_RATELIMIT_PUBLIC_FORM
=================  ==========================================  ========================

A request over a limit is refused with 429 and ``Retry-After`` (seconds): an
error page in the visitor's language, or the API's JSON problem. Counters live
in ``HOOKDESK_RATELIMIT_STORAGE_URL``: by default in memory (the embedded
setup: one process), or in Redis — the queue's when ``HOOKDESK_QUEUE_URL`` is
``redis://``, so every web worker shares them. When the storage cannot be
reached the limits are kept in this process's memory until it can.
``HOOKDESK_RATELIMIT_ENABLED=false`` turns every limit off.

Plugins guard their own public forms with ``@limited("public_form")`` (or any
rule above), or call ``hit(rule, key)`` / ``check`` / ``clear`` themselves.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger("hookdesk.ratelimit")

RULES: dict[str, str] = {
    "login_account": "HOOKDESK_RATELIMIT_LOGIN_ACCOUNT",
    "login_address": "HOOKDESK_RATELIMIT_LOGIN_ADDRESS",
    "reset_account": "HOOKDESK_RATELIMIT_RESET_ACCOUNT",
    "reset_address": "HOOKDESK_RATELIMIT_RESET_ADDRESS",
    "register_address": "HOOKDESK_RATELIMIT_REGISTER_ADDRESS",
    "token_failures": "HOOKDESK_RATELIMIT_TOKEN_FAILURES",
    "public_form": "HOOKDESK_RATELIMIT_PUBLIC_FORM",
}
STRATEGY = "moving-window"


class RateLimits:
    """The app's limiter: Flask-Limiter's storage and strategy, our rules."""

    def __init__(self, app: Flask):
        self.enabled = bool(app.config.get("HOOKDESK_RATELIMIT_ENABLED", True))
        self.storage_url = storage_url(app.config)
        app.config["RATELIMIT_ENABLED"] = self.enabled
        app.config["RATELIMIT_STRATEGY"] = STRATEGY
        self.extension = Limiter(key_func=address, storage_uri=self.storage_url,
                                 strategy=STRATEGY, key_prefix="hookdesk",
                                 headers_enabled=False)
        self.extension.init_app(app)
        self.rules: dict[str, list[RateLimitItem]] = {}
        for rule, option in RULES.items():
            text = str(app.config.get(option) or "").strip()
            try:
                self.rules[rule] = parse_many(text) if text else []
            except ValueError as exc:
                raise ValueError(f"{option}={text!r}: {exc}. Write e.g. \"10 per 15 minutes\"; "
                                 "several limits joined by ';'.") from exc
        self._fallback: RateLimiter | None = None

    # -- the storage, with an in-process fallback while it is down ------------------

    def _strategy(self) -> RateLimiter:
        return self._fallback or self.extension.limiter

    def _run(self, action: Callable[[RateLimiter], Any]) -> Any:
        try:
            return action(self._strategy())
        except Exception:
            if self._fallback is not None:
                raise
            log.exception("rate-limit storage %s failed; counting in memory until restart",
                          self.storage_url)
            self._fallback = MovingWindowRateLimiter(MemoryStorage())
            return action(self._fallback)

    # -- the rules --------------------------------------------------------------------

    def _items(self, rule: str) -> list[RateLimitItem]:
        if rule not in self.rules:
            raise KeyError(f"unknown rate-limit rule {rule!r}; known: {', '.join(RULES)}")
        return self.rules[rule] if self.enabled else []

    def hit(self, rule: str, key: str) -> None:
        """Count one attempt under ``rule`` for ``key``; 429 when over a limit."""
        for item in self._items(rule):
            if not self._run(lambda s, item=item: s.hit(item, rule, key)):
                raise too_many(self._retry_after(item, rule, key))

    def check(self, rule: str, key: str) -> None:
        """429 when ``key`` has no attempt left under ``rule``; counts nothing."""
        for item in self._items(rule):
            if not self._run(lambda s, item=item: s.test(item, rule, key)):
                raise too_many(self._retry_after(item, rule, key))

    def clear(self, rule: str, key: str) -> None:
        for item in self._items(rule):
            self._run(lambda s, item=item: s.clear(item, rule, key))

    def _retry_after(self, item: RateLimitItem, rule: str, key: str) -> int:
        stats = self._run(lambda s: s.get_window_stats(item, rule, key))
        return max(1, math.ceil(stats.reset_time - time.time()))


def storage_url(config: Any) -> str:
    """``HOOKDESK_RATELIMIT_STORAGE_URL``, else the queue's Redis, else memory."""
    url = str(config.get("HOOKDESK_RATELIMIT_STORAGE_URL") or "").strip()
    if url:
        return url
    queue = str(config.get("HOOKDESK_QUEUE_URL") or "")
    if queue.startswith(("redis://", "rediss://")):
        return queue
    return "memory://"


def too_many(retry_after: int) -> TooManyRequests:
    return TooManyRequests(f"Too many attempts. Try again in {retry_after} seconds.",
                           retry_after=retry_after)


def address() -> str:
    """The client's address as the limits count it: IPv4 whole, IPv6 by its /64
    (one machine usually has a whole /64). Behind a reverse proxy, set
    ``HOOKDESK_PROXY_COUNT`` so this is the client's, not the proxy's."""
    raw = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account(value: str) -> str:
    """A key for an account named by what was typed (e-mail, token prefix):
    case-folded and hashed, so the storage never holds the address itself."""
    return hashlib.sha256((value or "").strip().lower().encode()).hexdigest()[:32]


def limits() -> RateLimits:
    return current_app.extensions["hookdesk_limiter"]


def hit(rule: str, key: str) -> None:
    limits().hit(rule, key)


def check(rule: str, key: str) -> None:
    limits().check(rule, key)


def clear(rule: str, key: str) -> None:
    limits().clear(rule, key)


def limited(rule: str, methods: Iterable[str] = ("POST",)) -> Callable[[Callable], Callable]:
    """A view decorator: every request with one of ``methods`` counts under
    ``rule`` for the client's address (429 when over)."""
    wanted = {m.upper() for m in methods}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if request.method in wanted:
                hit(rule, address())
            return view(*args, **kwargs)

        return wrapper

    return decorator


def init_app(app: Flask) -> RateLimits:
    state = RateLimits(app)
    app.extensions["hookdesk_limiter"] = state
    return state
