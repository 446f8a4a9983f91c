"""Outgoing e-mail: the transport named by ``HOOKDESK_MAIL_URL`` and the job
``mail.send`` that delivers one message after commit, with retries.

``HOOKDESK_MAIL_URL``:

* ``smtp://[user:password@]host[:port]`` — plain SMTP (port 25);
  add ``?starttls=true`` to upgrade the connection (port 587 usually);
* ``smtps://[user:password@]host[:port]`` — SMTP over TLS (port 465);
* ``file:///path/to/folder`` — write each message as an ``.eml`` file (development);
* empty — the same, into ``<instance>/mail``, with a warning in the log.

Query options for ``smtp``/``smtps``: ``timeout`` (seconds, default 30) and
``verify=false`` to accept a relay's self-signed certificate. User and password
are URL-encoded (``%40`` for ``@``).

Messages are rendered by the caller (``web.mail.send_mail`` renders templates in
the recipient's language) and queued as a plain dict, so a worker needs nothing
but this module. ``enqueue`` inside a unit of work waits for its commit: a
rolled-back change sends nothing. A temporary failure (connection refused, a
4xx answer) raises, and the queue retries with exponential backoff; a permanent
refusal (5xx) is logged and not retried.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kernel import runtime

log = logging.getLogger("hookdesk.mail")

JOB_KEY = "mail.send"
DEFAULT_FROM = "Hookdesk <noreply@localhost>"
TRUTHY = {"1", "true", "yes", "on"}


class MailConfigError(ValueError):
    """``HOOKDESK_MAIL_URL`` cannot be understood."""


@dataclass(frozen=True)
class SMTPTransport:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = 30.0
    verify: bool = True

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, message: EmailMessage) -> None:
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=self._context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


@dataclass(frozen=True)
class FileTransport:
    folder: str

    def send(self, message: EmailMessage) -> None:
        os.makedirs(self.folder, exist_ok=True)
        name = (message["Message-ID"] or make_msgid()).strip("<>").replace("/", "_")
        path = os.path.join(self.folder, f"{name}.eml")
        with open(path + ".tmp", "wb") as fh:
            fh.write(bytes(message))
        os.replace(path + ".tmp", path)
        log.info("mail to %s written to %s", message["To"], path)


def transport(url: str | None = None) -> SMTPTransport | FileTransport:
    """The transport for ``url`` (default: the app's ``HOOKDESK_MAIL_URL``)."""
    if url is None:
        url = runtime.config("HOOKDESK_MAIL_URL") or ""
    if not url:
        folder = os.path.join(runtime.app().instance_path, "mail")
        log.warning("HOOKDESK_MAIL_URL is not set: writing e-mail to %s", folder)
        return FileTransport(folder)
    parts = urlsplit(url)
    if parts.scheme == "file":
        if not parts.path:
            raise MailConfigError(f"HOOKDESK_MAIL_URL {url!r}: give a folder, file:///path")
        return FileTransport(unquote(parts.path))
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError(
            f"HOOKDESK_MAIL_URL {url!r}: use smtp://host:port, smtps://host:port or file:///path"
        )
    if not parts.hostname:
        raise MailConfigError(f"HOOKDESK_MAIL_URL {url!r}: the host is missing")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"starttls", "timeout", "verify"})
    if unknown:
        raise MailConfigError(f"HOOKDESK_MAIL_URL: unknown option(s) {', '.join(unknown)}")
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
        timeout = float(query.get("timeout", 30))
    except ValueError as exc:
        raise MailConfigError(f"HOOKDESK_MAIL_URL {url!r}: {exc}") from exc
    return SMTPTransport(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=query.get("starttls", "").lower() in TRUTHY,
        timeout=timeout,
        verify=query.get("verify", "true").lower() in TRUTHY,
    )


def sender() -> str:
    return runtime.config("HOOKDESK_MAIL_FROM") or DEFAULT_FROM


def new_message_id() -> str:
    domain = parseaddr(sender())[1].rpartition("@")[2] or "hookdesk.local"
    return make_msgid(domain=domain)


def build(message: dict[str, Any]) -> EmailMessage:
    """A queued message dict -> an ``EmailMessage`` (text, and HTML when given)."""
    mail = EmailMessage()
    mail["Subject"] = message["subject"]
    mail["From"] = message.get("from") or sender()
    mail["To"] = message["to"]
    if message.get("reply_to"):
        mail["Reply-To"] = message["reply_to"]
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message.get("message_id") or new_message_id()
    mail["Auto-Submitted"] = "auto-generated"
    for key, value in (message.get("headers") or {}).items():
        mail[key] = value
    mail.set_content(message.get("text") or "")
    if message.get("html"):
        mail.add_alternative(message["html"], subtype="html")
    if message.get("locale"):  # after the body: setting content drops Content-* headers
        mail["Content-Language"] = message["locale"]
    return mail


def enqueue(message: dict[str, Any]) -> str:
    """Queue ``message`` (keys: to, subject, text, html?, reply_to?, locale?,
    headers?) for delivery after the current unit of work commits. Returns its
    Message-ID, fixed now so every retry sends the same message."""
    from kernel import jobs

    for key in ("to", "subject"):
        if not message.get(key):
            raise ValueError(f"mail message without {key!r}")
    payload = dict(message)
    payload.setdefault("message_id", new_message_id())
    payload.setdefault("from", sender())
    jobs.enqueue(JOB_KEY, message=payload)
    return payload["message_id"]


def deliver(message: dict[str, Any]) -> None:
    """The ``mail.send`` job: send one queued message through the transport."""
    mail = build(message)
    try:
        transport().send(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        log.error("mail %s refused for every recipient, not retried: %s",
                  mail["Message-ID"], exc.recipients)
        return
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            log.error("mail %s refused permanently (%s %s), not retried",
                      mail["Message-ID"], exc.smtp_code, exc.smtp_error)
            return
        raise
    log.info("mail %s sent to %s", mail["Message-ID"], mail["To"])
