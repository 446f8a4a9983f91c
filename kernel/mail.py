"""Outgoing e-mail: the transport named by ``HOOKDESK_MAIL_URL`` and the outbox
channel ``email`` that delivers messages after commit, with retries (R3).

Every e-mail is an outbox row (``kernel.outbox``) written in the transaction of
the change: ``put()`` below (``web.mail.send_mail`` renders a template and calls
it), or ``outbox.put("email", address, {"subject", "body", "html"?, "locale"?,
"reply_to"?, "headers"?, "from"?}, key=...)`` from any plugin. After commit the
outbox calls ``send()``, the channel: connection refused, a timeout or a 4xx
answer raise ``outbox.TemporaryFailure`` (retried with backoff); a 5xx answer
raises ``outbox.PermanentFailure`` (the row is marked failed, with the reason).
The Message-ID is derived from the idempotency key, so a message resent after a
worker died mid-delivery carries the same Message-ID and a mail system that
deduplicates by it shows it once.

Replies find their way back (M3): a letter tagged with a ``ref`` (``ticket:42``)
carries it, signed with the deployment's secret, in its Message-ID
(``<digest.ticket-42.signature@domain>``), in ``References`` (one thread id per
ticket, so mail programs keep the letters of a ticket together) and in
``X-Hookdesk-Ref``. ``ref_of()`` reads the ref back from the ``In-Reply-To`` /
``References`` of an incoming letter and checks the signature, so nothing needs
storing besides the outbox row, and a made-up id never points into a ticket.
``automatic_letters_suppressed()`` lets an incoming channel keep the letters of a
change from going to an auto-responder (M4): they are written with status
``suppressed`` and never sent.

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
the recipient's language) and stored as plain data, so a worker needs nothing
but this module. A rolled-back change leaves no row and sends nothing.

The older job ``mail.send`` (``enqueue``/``deliver``) still works, but a message
queued that way lives only in the queue: use the outbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kernel import hookimpl, runtime
from kernel.declarations import NotificationChannelDecl

log = logging.getLogger("hookdesk.mail")

JOB_KEY = "mail.send"
CHANNEL = "email"
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


def _domain() -> str:
    return parseaddr(sender())[1].rpartition("@")[2] or "hookdesk.local"


def new_message_id() -> str:
    return make_msgid(domain=_domain())


def message_id_for(key: str, ref: str | None = None) -> str:
    """The Message-ID of the message with idempotency key ``key``: the same key,
    the same Message-ID, on every attempt and in every worker. With a ``ref``
    (``ticket:42``) the id carries it, signed, for ``ref_of`` to read back."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    token = _ref_token(ref)
    if token is None:
        return f"<{digest}@{_domain()}>"
    # Short enough that "Message-ID: <...>" rarely needs folding.
    return f"<{digest[:24]}.{token}.{_signature(ref or '')}@{_domain()}>"


def thread_id_for(ref: str) -> str | None:
    """The id every letter about ``ref`` lists in ``References``: mail programs
    thread them together and a reply names it even when it drops our Message-ID."""
    token = _ref_token(ref)
    return f"<hookdesk.{token}.{_signature(ref)}@{_domain()}>" if token else None


_REF = re.compile(r"^([A-Za-z][A-Za-z0-9_]{0,30}):([A-Za-z0-9_]{1,40})$")
_SIGNED = re.compile(r"<?(?:[0-9a-f]{24}|hookdesk)\.([A-Za-z][A-Za-z0-9_]{0,30})-"
                     r"([A-Za-z0-9_]{1,40})\.([0-9a-f]{12})@[^>\s]+>?")
_OURS = re.compile(r"<?[0-9a-f]{40}@([^>\s]+)>?")


def _ref_token(ref: str | None) -> str | None:
    match = _REF.match(ref or "")
    return f"{match.group(1)}-{match.group(2)}" if match else None


def _signature(ref: str) -> str:
    secret = str(runtime.config("HOOKDESK_SECRET_KEY") or runtime.config("SECRET_KEY") or "")
    return hmac.new(secret.encode(), b"hookdesk-mail-ref:" + ref.encode(),
                    hashlib.sha256).hexdigest()[:12]


def ref_of(message_ids: str | Iterable[str]) -> str | None:
    """The ref (``ticket:42``) of the first of ``message_ids`` (a header's text —
    ``In-Reply-To``, ``References`` — or a list of ids) that one of our letters
    carried, its signature checked; None when none did."""
    text = message_ids if isinstance(message_ids, str) else " ".join(message_ids)
    for match in _SIGNED.finditer(text or ""):
        ref = f"{match.group(1)}:{match.group(2)}"
        if hmac.compare_digest(match.group(3), _signature(ref)):
            return ref
    return None


def is_ours(message_id: str) -> bool:
    """True when ``message_id`` is the Message-ID of a letter we sent (signed, or
    a plain id of our own domain): our own letter coming back."""
    text = (message_id or "").strip()
    if _SIGNED.fullmatch(text):
        return ref_of(text) is not None
    match = _OURS.fullmatch(text)
    return bool(match) and match.group(1).lower() == _domain().lower()


_suppressed: ContextVar[dict[str, str] | None] = ContextVar("hookdesk_mail_suppressed",
                                                            default=None)


@contextlib.contextmanager
def automatic_letters_suppressed(addresses: Iterable[str], reason: str) -> Iterator[None]:
    """While inside, letters ``put`` to any of ``addresses`` (case does not matter)
    are written with status ``suppressed`` and ``reason`` and never sent — the
    answers a change would send to an auto-responder or a bouncing address. The
    signals sent after the change commits run inside too, if the block holds the
    unit of work."""
    current = dict(_suppressed.get() or {})
    current.update({a.strip().lower(): reason for a in addresses if a and a.strip()})
    token = _suppressed.set(current)
    try:
        yield
    finally:
        _suppressed.reset(token)


class MailPolicy(EmailPolicy):
    """``email.policy.default`` without its empty first line.

    The standard folder moves a whole value that fits 78 characters on a line of
    its own below ``Subject:`` — a 70-78-character subject starts with an empty
    folded line, which some clients show as an empty subject. Here the value
    starts on the header's own line and is folded at a space when too long."""

    def _fold(self, name, value, refold_binary=False):
        folded = super()._fold(name, value, refold_binary)
        head = f"{name}:{self.linesep} "
        if not folded.startswith(head):
            return folded
        first, sep, tail = folded[len(head):].partition(self.linesep)
        line = f"{name}: {first}"
        limit = self.max_line_length or len(line)
        if len(line) > limit:
            cut = line.rfind(" ", len(name) + 2, limit + 1)
            if cut > len(name) + 2:  # the continuation keeps the space: unfolding restores it
                line = line[:cut] + self.linesep + line[cut:]
        return line + sep + tail


POLICY = MailPolicy()


def build(message: dict[str, Any]) -> EmailMessage:
    """A queued message dict -> an ``EmailMessage`` (text, and HTML when given)."""
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = " ".join(str(message["subject"]).split())
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
    from kernel import demo

    if demo.mail_suppressed(message["to"]):
        log.info("mail to demo address %s not sent (kernel.demo)", message["to"])
        return
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


# -- the outbox channel ``email`` ---------------------------------------------------


def put(message: dict[str, Any], key: str, ref: str | None = None) -> str:
    """Write ``message`` (keys: to, subject, text, html?, reply_to?, locale?,
    headers?, from?) to the outbox under idempotency ``key``, inside the current
    unit of work (one is opened when none is). Returns its Message-ID. A second
    ``put`` with the same key is a no-op that returns the same Message-ID."""
    from kernel import outbox
    from kernel.services.uow import in_unit_of_work, unit_of_work

    for name in ("to", "subject"):
        if not message.get(name):
            raise ValueError(f"mail message without {name!r}")
    payload = {k: v for k, v in message.items() if k not in ("to", "text") and v is not None}
    payload["body"] = message.get("text") or message.get("body") or ""
    payload.setdefault("from", sender())
    payload["message_id_header"] = message.get("message_id") or message_id_for(key, ref)
    thread = thread_id_for(ref) if ref else None
    if thread:
        headers = dict(payload.get("headers") or {})
        headers.setdefault("References", thread)
        headers.setdefault("X-Hookdesk-Ref", ref)
        payload["headers"] = headers
    status, reason = "pending", ""
    quiet = _suppressed.get() or {}
    address = parseaddr(message["to"])[1].strip().lower()
    if address in quiet:
        status, reason = "suppressed", quiet[address]
    if in_unit_of_work():
        row = outbox.put(CHANNEL, message["to"], payload, key=key, ref=ref, status=status,
                         reason=reason)
    else:
        with unit_of_work():
            row = outbox.put(CHANNEL, message["to"], payload, key=key, ref=ref, status=status,
                             reason=reason)
    return (row.payload or {}).get("message_id_header") or message_id_for(row.key, row.ref)


def send(recipient: str, subject: str, body: str, context: dict[str, Any]) -> None:
    """The ``email`` channel: send one outbox row over the configured transport."""
    from kernel import demo
    from kernel.outbox import PermanentFailure, TemporaryFailure

    if demo.mail_suppressed(recipient):
        log.info("mail to demo address %s not sent (kernel.demo)", recipient)
        return
    key = context.get("idempotency_key") or ""
    message = {
        "to": recipient,
        "subject": subject or context.get("subject") or "",
        "text": body,
        "html": context.get("html"),
        "locale": context.get("locale"),
        "reply_to": context.get("reply_to"),
        "headers": context.get("headers"),
        "from": context.get("from"),
        "message_id": context.get("message_id_header") or (message_id_for(key) if key
                                                           else None),
    }
    if not message["subject"]:
        raise PermanentFailure("The message has no subject.")
    try:
        mail = build(message)
    except (ValueError, TypeError) as exc:  # a header the e-mail package refuses
        raise PermanentFailure(f"Cannot build the message: {exc}") from exc
    try:
        transport().send(mail)
    except MailConfigError as exc:  # fixable by the admin: keep the message
        raise TemporaryFailure(str(exc)) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        reason = "; ".join(f"{rcpt}: {code} {_text(msg)}"
                           for rcpt, (code, msg) in exc.recipients.items())
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"Recipient refused: {reason}") from exc
        raise TemporaryFailure(f"Recipient deferred: {reason}") from exc
    except smtplib.SMTPResponseException as exc:
        text = f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(text) from exc
        raise TemporaryFailure(text) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, disconnected, TLS
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
    log.info("mail %s sent to %s", mail["Message-ID"], mail["To"])


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# The kernel registers this module as a plugin of its own ("kernel.mail"): e-mail
# works for password links and the like with no plugin enabled.
@hookimpl
def hookdesk_register_notification_channels():
    return [NotificationChannelDecl(CHANNEL, "E-mail", send)]
