"""Files on tickets and messages (K8): size-limited, content-addressed on disk,
served only to those allowed to see the ticket."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

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
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return base[:255] or "file"


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
    try:
        blob = store().put(_stream(upload), max_bytes=limit, allow_empty=False)
    except BlobTooLarge as exc:
        raise TooLarge(
            {"file": f"{name!r} is larger than the limit of {_human_size(limit)}."}
        ) from exc
    except BlobEmpty as exc:
        raise ValidationFailed({"file": f"{name!r} is empty."}) from exc
    ctype = sniff_content_type(blob.sha256, name)
    with unit_of_work():
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
