"""Reading one letter: who sent it, what it answers, its text (plain preferred,
HTML sanitized), its files, and whether a machine wrote it (an auto-reply, a
bounce, our own letter coming back).

Nothing here touches the database: ``read(raw)`` gives a ``Letter``."""

from __future__ import annotations

import email
import html as html_lib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

import nh3

MAX_SUBJECT = 300


class Unreadable(ValueError):
    """The bytes are not a letter we can take in (no sender, not e-mail at all)."""


@dataclass
class File:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Bounce:
    recipients: list[tuple[str, str, str]]  # (address, status, diagnostic)
    original_ids: str  # Message-ID / References of the letter that bounced


@dataclass
class Letter:
    sender: str
    sender_name: str
    subject: str
    message_id: str
    replies_to: str  # In-Reply-To and References, as one text
    text: str
    html: str  # sanitized, remote images removed; "" when the letter had none
    files: list[File] = field(default_factory=list)
    automatic: str = ""  # why a machine wrote it, or ""
    bounce: Bounce | None = None
    hookdesk_ref: str = ""  # X-Hookdesk-Ref: one of our letters coming back
    defects: list[str] = field(default_factory=list)


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot decode: take it raw
        value = None
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                value = raw
                break
    return " ".join(str(value).split()) if value is not None else ""


def read(raw: bytes) -> Letter:
    if not raw or not raw.strip():
        raise Unreadable("The letter is empty.")
    msg = email.message_from_bytes(raw, policy=policy.default)
    if not msg.keys():
        raise Unreadable("No headers: this is not an e-mail message.")
    name, address = parseaddr(_header(msg, "From"))
    if not address:
        name, address = parseaddr(_header(msg, "Sender"))
    address = address.strip().lower()
    if "@" not in address or len(address) > 254:
        raise Unreadable("The letter has no sender address (From).")
    subject = _header(msg, "Subject")[:MAX_SUBJECT]
    text, html = _body(msg)
    letter = Letter(
        sender=address,
        sender_name=(name or "").strip()[:200],
        subject=subject,
        message_id=_header(msg, "Message-ID")[:500],
        replies_to=f"{_header(msg, 'In-Reply-To')} {_header(msg, 'References')}".strip(),
        text=text,
        html=html,
        files=list(_files(msg)),
        hookdesk_ref=_header(msg, "X-Hookdesk-Ref"),
        defects=[type(d).__name__ for part in msg.walk() for d in part.defects][:20],
    )
    letter.bounce = _bounce(msg, address)
    letter.automatic = automatic_reason(msg, address, subject)
    return letter


# -- machines ------------------------------------------------------------------------

_AUTO_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|noreply|do-not-reply|"
                           r"bounces?|auto-?reply)([+.\-@]|$)", re.I)
_AUTO_SUBJECTS = re.compile(r"^\s*(auto(matic)? ?reply|auto:|autoreply|out of (the )?office|"
                            r"автоответ|автоматический ответ|нет на месте|"
                            r"undeliverable|undelivered mail|delivery status notification|"
                            r"mail delivery failed|returned mail)", re.I)


def automatic_reason(msg: Message, sender: str, subject: str) -> str:
    """Why a machine wrote this letter (RFC 3834 and what mail systems really
    send), or "" for a person's letter."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autorespond-Id"):
        if _header(msg, name):
            return f"{name}: {_header(msg, name)}"
    suppress = _header(msg, "X-Auto-Response-Suppress").lower()
    if "oof" in suppress or suppress == "all":
        return f"X-Auto-Response-Suppress: {suppress}"
    if _header(msg, "List-Id") or _header(msg, "List-Unsubscribe"):
        return "a mailing list"
    if msg.get_content_type() == "multipart/report":
        return "a delivery report"
    if _AUTO_SENDERS.match(sender.split("@")[0] + "@"):
        return f"sender {sender}"
    if _header(msg, "Return-Path") == "<>":
        return "empty Return-Path"
    if _AUTO_SUBJECTS.match(subject):
        return f"subject {subject[:60]!r}"
    return ""


def _bounce(msg: Message, sender: str) -> Bounce | None:
    """A delivery status notification (RFC 3464): the addresses that failed."""
    if msg.get_content_type() != "multipart/report":
        return None
    recipients: list[tuple[str, str, str]] = []
    original = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            for block in _status_blocks(part):
                action = block.get("action", "").lower()
                address = parseaddr(block.get("final-recipient", "").split(";")[-1])[1]
                address = address or parseaddr(
                    block.get("original-recipient", "").split(";")[-1])[1]
                if address and action in ("failed", ""):
                    recipients.append((address.strip().lower(), block.get("status", ""),
                                       block.get("diagnostic-code", "")[:500]))
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            headers = _inner_headers(part)
            original = " ".join(filter(None, (headers.get("message-id", ""),
                                              headers.get("references", ""))))
    if not recipients:
        return None
    return Bounce(recipients, original)


def _status_blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):  # the email package parsed it into header blocks
        for block in payload:
            blocks.append({k.lower(): " ".join(str(v).split()) for k, v in block.items()})
        return blocks
    text = payload if isinstance(payload, str) else ""
    for chunk in re.split(r"\r?\n\s*\r?\n", text):
        fields = {}
        for line in chunk.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        blocks.append(fields)
    return blocks


def _inner_headers(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        return {k.lower(): " ".join(str(v).split()) for k, v in inner.items()}
    data = part.get_payload(decode=True) or (payload.encode() if isinstance(payload, str)
                                             else b"")
    parsed = email.message_from_bytes(data, policy=policy.default)
    return {k.lower(): " ".join(str(v).split()) for k, v in parsed.items()}


# -- the text ------------------------------------------------------------------------


def _decode(part: Message) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1251", errors="replace")  # the commonest 8-bit mail in Russia


def _is_file(part: Message) -> bool:
    if part.is_multipart():
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    return bool(part.get_filename()) and part.get_content_maintype() != "text"


def _parts(msg: Message):
    """The parts of the letter itself: a forwarded letter attached to it is one
    part (a file), never walked into."""
    yield msg
    if msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                if sub.get_content_maintype() == "message":
                    yield sub
                else:
                    yield from _parts(sub)


def _body(msg: Message) -> tuple[str, str]:
    plain = html = None
    for part in _parts(msg):
        if part.is_multipart() or _is_file(part) or part.get_content_maintype() == "message":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _decode(part)
        elif ctype == "text/html" and html is None:
            html = _decode(part)
    cleaned = sanitize_html(html) if html else ""
    text = plain if plain is not None and plain.strip() else (html_to_text(html) if html else "")
    return _tidy(text), cleaned


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_IMAGE_SCHEMES = ("data:", "cid:")


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith(
            _IMAGE_SCHEMES):
        return None  # a remote image is a read receipt: never loaded
    return value


def sanitize_html(html: str) -> str:
    """The letter's HTML with scripts, styles, event handlers and remote images
    removed (nh3, the Ammonia sanitizer); links open in a new tab, no referrer."""
    return nh3.clean(html, attribute_filter=_filter, link_rel="noopener noreferrer nofollow",
                     url_schemes={"http", "https", "mailto", "data", "cid"})


_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|hr)\b[^>]*>", re.I)


def html_to_text(html: str) -> str:
    text = _BLOCK.sub("\n", html)
    text = nh3.clean(text, tags=set())
    return html_lib.unescape(text).replace("\xa0", " ")


# -- files ---------------------------------------------------------------------------


def _files(msg: Message):
    for number, part in enumerate(_parts(msg), start=1):
        if part is msg:
            continue
        if part.get_content_type() == "message/rfc822" and (
                part.get_content_disposition() == "attachment" or part.get_filename()):
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                yield File(part.get_filename() or f"message-{number}.eml", "message/rfc822",
                           inner_msg.as_bytes(policy=policy.SMTP))
            continue
        if not _is_file(part):
            continue
        data = part.get_payload(decode=True)
        if not data:
            continue
        try:
            name = part.get_filename() or ""
        except Exception:  # noqa: BLE001 - an undecodable name: the kernel names it "file"
            name = ""
        yield File(name or f"attachment-{number}", part.get_content_type(), data)


# -- replies -------------------------------------------------------------------------

_QUOTE_HEADS = [
    re.compile(r"^\s*(On|Am|Le|El)\s.+(wrote|schrieb|a écrit|escribió)\s*:\s*$", re.I),
    re.compile(r"^.+(пишет|написал|написала|писал|писала)\s*:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(Original Message|Исходное сообщение|Пересылаемое сообщение|"
               r"Forwarded message)\s*-{2,}", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
]
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|От|Отправлено|Sent)\s*:\*?\s", re.I)


def trim_quoted(text: str) -> str:
    """A reply without the history it quotes: cut at "On ... wrote:", Outlook's
    "From: / Sent:" block, "-----Original Message-----", and drop the trailing
    "> " lines. The whole text when trimming would leave nothing."""
    lines = text.split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        head = any(p.match(line) for p in _QUOTE_HEADS)
        if not head and index + 1 < len(lines) and line.strip()[:3] in ("On ", "Am "):
            head = bool(_QUOTE_HEADS[0].match(line + " " + lines[index + 1]))  # Gmail wraps it
        if head:
            cut = index
            break
        if _OUTLOOK_FROM.match(line) and any(
                re.match(r"^\s*\*?(Sent|Date|Отправлено|Дата|To|Кому)\s*:", nxt, re.I)
                for nxt in lines[index + 1:index + 4]):
            cut = index
            break
    kept = lines[:cut]
    while kept and (kept[-1].startswith(">") or not kept[-1].strip()):
        kept.pop()
    result = "\n".join(kept).strip()
    return result or text.strip()


def addresses(value: str) -> list[str]:
    return [a.lower() for _n, a in getaddresses([value]) if a]


def as_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]
