"""Kernel objects -> plain dicts for the API schemas, with what the viewer may see."""

from __future__ import annotations

from flask import url_for

from kernel import fieldset
from kernel.models import Attachment, Customer, Message, Ticket, User


def ticket(t: Ticket, viewer: User) -> dict:
    values = dict(t.values or {})
    if viewer.is_customer:
        visible = {f.key for f in fieldset.for_type(t.type, "customer_view")}
        values = {k: v for k, v in values.items() if k in visible}
    pipeline = t.type.pipeline
    allowed = [] if viewer.is_customer else [s.key for s in pipeline.next_statuses(t.status)]
    return {
        "id": t.id,
        "number": t.number,
        "type": t.type.key,
        "status": {"key": t.status.key, "name": t.status.name, "group": t.status.group},
        "subject": t.subject,
        "text": t.text,
        "priority": t.priority,
        "queue": t.queue,
        "urgent": t.urgent,
        "deadline": t.deadline,
        "location": t.location,
        "customer_id": t.customer_id,
        "assignee_id": t.assignee_id,
        "author_id": t.author_id,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "closed_at": t.closed_at,
        "values": values,
        "version": t.version,
        "allowed_statuses": allowed,
    }


def attachment(a: Attachment) -> dict:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "message_id": a.message_id,
        "internal": a.internal,
        "created_at": a.created_at,
        "url": url_for("api_files.download", attachment_id=a.id),
    }


def message(m: Message, viewer: User) -> dict:
    files = [a for a in m.attachments if not (a.internal and viewer.is_customer)]
    return {
        "id": m.id,
        "author_id": m.author_id,
        "author_kind": m.author_kind,
        "body": m.body,
        "internal": m.internal,
        "created_at": m.created_at,
        "attachments": [attachment(a) for a in files],
    }


def customer(c: Customer) -> dict:
    return {
        "id": c.id,
        "name": c.name,
        "contract_number": c.contract_number,
        "note": c.note or "",
        "phones": [{"number": p.number, "raw": p.raw} for p in c.phones],
        "emails": [e.email for e in c.emails],
        "created_at": c.created_at,
    }


def user(u: User) -> dict:
    return {
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "kind": u.kind,
        "is_active": u.is_active,
        "roles": [r.key for r in u.roles],
        "customer_id": u.customer_id,
        "locale": u.locale,
        "timezone": u.timezone,
    }
