"""No English left in the Russian interface (X2): every page an admin, an agent
and a customer can open, on the demo data, read in Russian. A word in Latin
letters fails the test unless it is a proper name (a product, a protocol, a
format) or sits in code (``<code>``, ``<kbd>``, ``<pre>``): keys, e-mail
addresses, numbers such as REQ-2026-00001 and URLs are code, not words."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import url_for

from kernel import runtime
from kernel.demo import load as load_demo
from kernel.models import Ticket, User
from web.testing import login

# Names of products, protocols and formats: the same in Russian text.
PROPER_NAMES = {
    "Hookdesk", "API", "REST", "OpenAPI", "JSON", "CSV", "HTTP", "HTTPS", "URL", "SMS", "SMPP",
    "SMSC", "SMS.ru", "SMTP", "IMAP", "LMTP", "TLS", "Asterisk", "AMI", "Zadarma", "PBX",
    "HMAC", "SHA", "ID", "PDF", "PNG", "JPEG", "UTC", "WebP", "Bearer", "Redis", "PostgreSQL",
    "SQLite", "HOOKDESK_PLUGINS", "Swagger", "Markdown", "CRM", "VIP", "GIF", "XLSX", "QR",
    "Русский", "English", "Email", "E-mail", "e-mail", "Webhook", "RU", "EN", "POST", "GET",
    "INBOX", "STARTTLS",
}
SKIP_TAGS = {"script", "style", "code", "kbd", "pre", "samp", "svg", "noscript"}
WORD = re.compile(r"(?<![\w@./:#{-])[A-Za-z][A-Za-z-]*[A-Za-z](?![\w@/:}-])")
# E-mail addresses, URLs, anything with a digit or an underscore (keys, numbers),
# {placeholders}, header names (X-Hookdesk-Signature), and literals quoted for the
# reader to type: «hookdesk db upgrade», “done, Done”, `hookdesk sms smpp-listen`.
CODE_LIKE = re.compile(r"[\w.+-]+@[\w.-]+|https?://\S+|\b\w*[\d_]\w*\b|\{[^}]*\}"
                       r"|\b[A-Z][a-z]*(?:-[A-Z][a-z]*)+\b|«[^»]*»|“[^”]*”|`[^`]*`")


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "col"}


class _Text(HTMLParser):
    """The words a person reads: text nodes and the attributes read aloud or shown
    on hover, outside code and outside elements marked as another language."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, starts a skipped part)
        self.parts: list[str] = []

    @property
    def skipping(self) -> bool:
        return any(skips for _tag, skips in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Text marked as another language (a third-party plugin's own words, the
        # English version of a template) is not the interface's.
        foreign = attrs.get("lang") not in (None, "", "ru") and tag != "html"
        skips = (tag in SKIP_TAGS or foreign or attrs.get("translate") == "no"
                 or "mono" in (attrs.get("class") or "").split())
        if not self.skipping and not skips:
            for name in ("placeholder", "title", "aria-label", "alt"):
                if attrs.get(name):
                    self.parts.append(attrs[name])
        if tag not in VOID:
            self.stack.append((tag, skips))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def latin_words(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    text = CODE_LIKE.sub(" ", " ".join(parser.parts))
    return {w for w in WORD.findall(text) if w not in PROPER_NAMES}


def _pages(app, kind: str) -> list[str]:
    """Every GET page without arguments in the areas this kind of user opens."""
    prefixes = {"admin": ("/admin",), "agent": ("/agent", "/settings"),
                "customer": ("/portal", "/settings")}[kind]
    skip = ("/export", ".csv", "/download", "/logout", "/events", "/stream", "/poll", "/lookup",
            "/search", "/preview", "/popup", "/snippet", "/badge")
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or not rule.rule.startswith(prefixes):
            continue
        if any(s in rule.rule for s in skip):
            continue
        urls.add(rule.rule)
    return sorted(urls)


@pytest.fixture
def demo(app):
    load_demo(runtime.host())
    return app


def _check(client, urls) -> dict[str, set[str]]:
    found = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        words = latin_words(response.get_data(as_text=True))
        if words:
            found[url] = words
    return found


def _user(email: str) -> User:
    from kernel.db import db

    return db.session.scalar(db.select(User).where(User.email == email))


@pytest.mark.parametrize("kind, email", [
    ("admin", "admin@example.com"), ("agent", "agent@example.com"),
    ("customer", "customer@example.com")])
def test_every_page_reads_in_russian(demo, client, kind, email):
    from kernel.db import db

    user = _user(email)
    assert user is not None, "demo user missing"
    user.locale = "ru"
    db.session.commit()
    login(client, user)
    urls = _pages(demo, kind)
    ticket = db.session.scalar(db.select(Ticket).order_by(Ticket.id))
    with demo.test_request_context():
        if kind == "agent":
            urls.append(url_for("agent.ticket", ticket_id=ticket.id))
        if kind == "admin":
            urls += ["/admin/types/request", "/admin/pipelines/support", "/admin/fields/subject",
                     "/admin/dictionaries/queues", "/admin/roles/agent"]
    found = _check(client, urls)
    assert not found, "English words in the Russian interface:\n" + "\n".join(
        f"{url}: {', '.join(sorted(words))}" for url, words in sorted(found.items()))
