"""Files on tickets and messages (K8): size-limited, content-addressed on disk,
served only to those allowed to see the ticket."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from kernel import permissions, runtime, signals, visibility
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, TooLarge, ValidationFailed
from kernel.models import Attachment, Message, Ticket, User
from kernel.services import history
from kernel.services.uow import after_commit, unit_of_work
from kernel.storage import BlobEmpty, BlobStore, BlobTooLarge

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def store() -> BlobStore:
    return BlobStore(runtime.config("HOOKDESK_ATTACHMENTS_DIR"))


def max_bytes() -> int:
    return int(runtime.config("HOOKDESK_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def _human_size(size: int) -> str:
    """``20 MB``, ``1.5 MB``, ``512 KB``, ``10 bytes`` — so a small limit is not "0.0 MB"."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


TEXT_TYPES = {"text/plain", "text/csv", "text/markdown"}


def sniff_content_type(sha256: str, filename: str) -> str:
    """The type the bytes really have — never what the client claimed (K8).

    Binary formats are recognised by their signature (``filetype``); a file
    without one is text only if it decodes as UTF-8, and then only a plain text
    type (an ``.html`` file is served as ``text/plain``); anything else is
    ``application/octet-stream``."""
    import filetype

    with store().open(sha256) as fh:
        head = fh.read(8192)
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 8 KiB edge
            return "application/octet-stream"
    guessed = mimetypes.guess_type(filename)[0]
    return guessed if guessed in TEXT_TYPES else "text/plain"


def _clean_name(name: str | None) -> str:
    return safe_filename(name)


# -- safe file names ----------------------------------------------------------------

MAX_FILENAME_BYTES = 200  # UTF-8 bytes: fits every file system and the 255-char column
_UNSAFE_CHARS = set('<>:"|?*\\/')
_RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                   *(f"lpt{i}" for i in range(10))}


def safe_filename(name: str | None) -> str:
    """A name that is safe to store, show and save as: the last path segment,
    without control or format characters (bidi overrides), without ``<>:"|?*``,
    no leading dot (``.txt`` -> ``file.txt``; ``..``, ``.`` and empty -> ``file``),
    no trailing dots or spaces, no Windows device name, at most
    ``MAX_FILENAME_BYTES`` UTF-8 bytes with the extension kept."""
    text = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/")
    text = text.rsplit("/", 1)[-1]
    hidden = text.strip().startswith(".")
    text = "".join(" " if ch in "\t\n\r" else ch for ch in text
                   if ch not in _UNSAFE_CHARS and unicodedata.category(ch)[0] != "C"
                   or ch in "\t\n\r")
    text = " ".join(text.split()).strip(" .")  # also trailing dots (Windows drops them)
    if hidden and text:
        text = "file." + text  # ".txt" -> "file.txt", ".bashrc" -> "file.bashrc"
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.split(".")[0].lower() in _RESERVED_NAMES:
        text = "file-" + text
    if len(text.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        if not dot or len(ext.encode()) > 20:
            stem, dot, ext = text, "", ""
        room = MAX_FILENAME_BYTES - len((dot + ext).encode())
        stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
        text = stem + dot + ext
    return text or "file"


def content_disposition(filename: str | None, as_attachment: bool = True) -> str:
    """``Content-Disposition`` per RFC 6266: a plain ASCII ``filename`` that is safe
    on its own (``curl -OJ`` uses it) and, for any other name, ``filename*`` with
    the UTF-8 name percent-encoded (RFC 8187)."""
    from urllib.parse import quote

    name = safe_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join(ch if ch.isalnum() or ch in "-_.+()[], " else "_" for ch in ascii_name)
    ascii_name = safe_filename(ascii_name.strip("_ ") or "")
    if ascii_name == "file" and "." in name:  # "отчёт.pdf" -> "file.pdf"
        ext = name.rpartition(".")[2].encode("ascii", "ignore").decode()
        ascii_name = f"file.{ext}" if ext.isalnum() else "file"
    value = f'{"attachment" if as_attachment else "inline"}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


# -- how many files, how many bytes ---------------------------------------------------

DEFAULT_MAX_FILES_PER_MESSAGE = 20
DEFAULT_MAX_FILES_PER_CUSTOMER = 2000
DEFAULT_CUSTOMER_QUOTA_BYTES = 1024 * 1024 * 1024  # 1 GB
_BATCH = "hookdesk.attachments.batch"  # session.info: files attached in this transaction


def _limit(option: str, default: int) -> int:
    """A limit from the config; 0 or less means "no limit"."""
    value = int(runtime.config(option, default) or 0)
    return value if value > 0 else 2**62


def max_files_per_message() -> int:
    return _limit("HOOKDESK_MAX_FILES_PER_MESSAGE", DEFAULT_MAX_FILES_PER_MESSAGE)


def max_files_per_customer() -> int:
    return _limit("HOOKDESK_MAX_FILES_PER_CUSTOMER", DEFAULT_MAX_FILES_PER_CUSTOMER)


def customer_quota_bytes() -> int:
    return _limit("HOOKDESK_CUSTOMER_QUOTA_BYTES", DEFAULT_CUSTOMER_QUOTA_BYTES)


def customer_usage(actor: User) -> tuple[int, int]:
    """``(files, bytes)`` uploaded by the customer ``actor`` belongs to (every
    portal account of that customer), or by ``actor`` alone without one."""
    query = db.select(db.func.count(Attachment.id),
                      db.func.coalesce(db.func.sum(Attachment.size), 0))
    if actor.customer_id is not None:
        query = query.join(User, Attachment.uploaded_by_id == User.id).where(
            User.customer_id == actor.customer_id)
    else:
        query = query.where(Attachment.uploaded_by_id == actor.id)
    files, size = db.session.execute(query).one()
    return int(files or 0), int(size or 0)


def _quota_message(name: str) -> str:
    return (f"{name!r} does not fit in the storage quota of "
            f"{_human_size(customer_quota_bytes())} for one customer's files.")


def _check_limits(ticket: Ticket, actor: User | None, message: Message | None, name: str) -> int:
    """Refuse a file over the count limits (per message — or the files sent with a
    new ticket — and per customer); returns how many bytes the uploader may still
    store (their customer's quota left; staff have no quota)."""
    batch = (db.session.info.get(_BATCH) or {}).get((ticket.id, message.id if message else None), 0)
    if message is not None:
        batch = max(batch, db.session.scalar(db.select(db.func.count(Attachment.id)).where(
            Attachment.message_id == message.id)) or 0)
    per_message = max_files_per_message()
    if batch >= per_message:
        raise ValidationFailed({"file": f"At most {per_message} files can be sent at once; "
                                        f"{name!r} is one too many."})
    if actor is None or actor.is_agent:
        return 2**62
    files, used = customer_usage(actor)
    if files >= max_files_per_customer():
        raise ValidationFailed({"file": f"{name!r}: one customer can keep at most "
                                        f"{max_files_per_customer()} files."})
    room = customer_quota_bytes() - used
    if room <= 0:
        raise TooLarge({"file": _quota_message(name)})
    return room


def _count_in_batch(ticket: Ticket, message: Message | None) -> None:
    batch = db.session.info.setdefault(_BATCH, {})
    key = (ticket.id, message.id if message else None)
    batch[key] = batch.get(key, 0) + 1


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_batch(session, transaction):
    if transaction.parent is None:
        session.info.pop(_BATCH, None)


def _stream(upload: Any) -> BinaryIO:
    return upload.stream if hasattr(upload, "stream") else upload


def attach(
    ticket: Ticket,
    upload: Any,
    actor: User | None = None,
    message: Message | None = None,
    via: str | None = None,
    internal: bool = False,
    filename: str | None = None,
) -> Attachment:
    """Store ``upload`` (a werkzeug ``FileStorage`` or any binary stream with a
    ``filename``) and attach it. Refuses files over the size limit with the limit.

    Who may: the ticket's customer (``tickets.reply``: a file is part of the
    conversation, never internal); an agent with ``tickets.reply`` or
    ``tickets.edit`` for a file the customer sees, ``tickets.note`` for an
    internal one. Seeing the ticket (``tickets.view``) alone is not enough."""
    require_attach(ticket, actor, internal)
    return _attach(ticket, upload, actor=actor, message=message, via=via, internal=internal,
                   filename=filename)


def require_attach(ticket: Ticket, actor: User | None, internal: bool = False) -> None:
    """Refuse (``NotFound``/``PermissionDenied``/``ValidationFailed``) unless ``actor``
    may attach a file (``internal`` or not) to ``ticket``."""
    permissions.require_view(actor, ticket)
    if actor is None:
        return
    if actor.is_customer:
        if internal:
            raise ValidationFailed({"internal": "Customers cannot attach internal files."})
        permissions.require(actor, "tickets.reply")
    elif internal:
        permissions.require(actor, "tickets.note")
    else:
        permissions.require_any(actor, ("tickets.reply", "tickets.edit"))


def _attach(
    ticket: Ticket,
    upload: Any,
    actor: User | None = None,
    message: Message | None = None,
    via: str | None = None,
    internal: bool = False,
    filename: str | None = None,
) -> Attachment:
    """``attach`` without its permission check: for kernel services that checked
    the action the file belongs to (a new ticket, a message)."""
    name = _clean_name(filename or getattr(upload, "filename", None) or getattr(upload, "name", ""))
    limit = max_bytes()
    room = _check_limits(ticket, actor, message, name)
    try:
        blob = store().put(_stream(upload), max_bytes=min(limit, room), allow_empty=False)
    except BlobTooLarge as exc:
        if room < limit:
            raise TooLarge({"file": _quota_message(name)}) from exc
        raise TooLarge(
            {"file": f"{name!r} is larger than the limit of {_human_size(limit)}."}
        ) from exc
    except BlobEmpty as exc:
        raise ValidationFailed({"file": f"{name!r} is empty."}) from exc
    ctype = sniff_content_type(blob.sha256, name)
    with unit_of_work():
        _count_in_batch(ticket, message)
        attachment = Attachment(
            ticket_id=ticket.id,
            message_id=message.id if message else None,
            filename=name,
            content_type=ctype[:127],
            size=blob.size,
            sha256=blob.sha256,
            uploaded_by_id=actor.id if actor else None,
            internal=internal,
            created_at=utcnow(),
        )
        db.session.add(attachment)
        db.session.flush()
        event = history.record(
            ticket,
            "attachment_added",
            {"attachment_id": attachment.id, "filename": name, "size": blob.size,
             "internal": bool(internal)},
            actor=actor,
            via=via,
        )
        after_commit(
            signals.attachment_added, "kernel.attachments", ticket=ticket,
            attachment=attachment, event=event, actor=actor,
        )
    return attachment


def get(attachment_id: int, viewer: User | None) -> Attachment:
    """An attachment ``viewer`` may download; otherwise ``NotFound``."""
    attachment = get_by_id(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id is None:
        raise NotFound("File not found.")
    ticket = db.session.get(Ticket, attachment.ticket_id)
    if ticket is None or not permissions.can_view_ticket(viewer, ticket):
        raise NotFound("File not found.")
    if not visibility.can_see_attachment(attachment, viewer):
        raise NotFound("File not found.")
    return attachment


def open_blob(attachment: Attachment) -> BinaryIO:
    return store().open(attachment.sha256)


def for_ticket(ticket: Ticket, viewer: User | None) -> list[Attachment]:
    permissions.require_view(viewer, ticket)
    query = db.select(Attachment).where(Attachment.ticket_id == ticket.id,
                                        visibility.attachment_clause(viewer))
    return list(db.session.scalars(query.order_by(Attachment.id)))


@dataclass
class Garbage:
    """What ``collect_garbage`` found (and, unless a dry run, removed)."""

    kept: int = 0
    removed: int = 0
    freed_bytes: int = 0
    young: int = 0  # unreferenced but newer than the grace period: kept for now
    paths: list[str] = field(default_factory=list)


def collect_garbage(older_than: timedelta = timedelta(hours=24),
                    dry_run: bool = False) -> Garbage:
    """Delete stored files no attachment and no plugin refers to any more (a
    removed attachment, a replaced floor plan) and temporary files of crashed
    uploads. A file is written before the transaction that refers to it commits,
    and storing equal bytes again renews its time, so only files untouched for
    ``older_than`` go: an upload in flight is never taken."""
    referenced = set(db.session.scalars(db.select(Attachment.sha256).distinct()))
    for _plugin, digests in runtime.host().collect("hookdesk_blob_references"):
        referenced.update(str(d) for d in digests)
    db.session.rollback()  # no transaction stays open while the disk is walked
    cutoff = time.time() - older_than.total_seconds()
    found = Garbage()
    for sha, path in store().walk():
        if sha is not None and sha in referenced:
            found.kept += 1
            continue
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        if stat.st_mtime > cutoff:
            found.young += 1
            continue
        found.paths.append(path)
        found.removed += 1
        found.freed_bytes += stat.st_size
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):  # another gc was quicker
                os.unlink(path)
    return found
