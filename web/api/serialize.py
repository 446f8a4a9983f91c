"""Kernel objects -> plain dicts for the API schemas, with only what the viewer
may see (decided by ``kernel.visibility``, never here)."""

from __future__ import annotations

from flask import url_for

from kernel import visibility
from kernel.models import Attachment, Customer, Message, Ticket, User


def ticket(t: Ticket, viewer: User) -> dict:
    """What ``viewer`` may see of ``t`` (``kernel.visibility``): field attributes
    (``location``, ``deadline``, ``assignee_id``...) and ``values`` of fields the
    viewer may not see are left out."""
    pipeline = t.type.pipeline
    allowed = [] if viewer.is_customer else [s.key for s in pipeline.next_statuses(t.status)]
    shown = visibility.ticket_attributes(t, viewer)
    keys = visibility.field_keys(t.type, viewer)
    out = {
        "id": t.id,
        "number": t.number,
        "type": t.type.key,
        "status": {"key": t.status.key, "name": t.status.name, "group": t.status.group},
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "closed_at": t.closed_at,
        "values": {k: v for k, v in (t.values or {}).items() if k in keys},
        "version": t.version,
        "allowed_statuses": allowed,
    }
    for attribute in (*visibility.FIELD_ATTRIBUTES.values(), *visibility.STAFF_ATTRIBUTES):
        if attribute in shown:
            out[attribute] = getattr(t, attribute)
    return out


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
    files = [a for a in m.attachments if visibility.can_see_attachment(a, viewer)]
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
