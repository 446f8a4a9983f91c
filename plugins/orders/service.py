"""The orders plugin's services: requests (O1, O2), stages (O3), documents and
links (O5), notes (O6), customer edits (O7) and linking a lead (A8).

Each one checks that the actor may do it (a customer only on their own order:
``NotFound`` otherwise, so nothing leaks), validates before writing (a refusal
names the field, nothing is half-written), changes kernel tickets only through
the kernel's services, and writes its own rows and the history event in one
unit of work."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from kernel import permissions, phones, runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, CustomerPhone, Status, Ticket, TicketType, User
from kernel.services import attachments, customers, links, messages, tickets
from kernel.services import settings as kernel_settings
from kernel.services.uow import unit_of_work
from plugins.orders import scenarios
from plugins.orders.models import Document, Link, Note, TypeConfig

MANAGE = "orders.manage"
VIA = "orders"
LINK_KINDS = ("tracking", "invoice", "contract", "other")
MAX_TITLE = 200
MAX_URL = 2000
MAX_NOTE = 10_000
MAX_REASON = 1000


# -- what is what -----------------------------------------------------------------------


def is_request(ticket: Ticket) -> bool:
    return ticket.type.key == scenarios.REQUEST_TYPE


def order_type_keys() -> list[str]:
    """Keys of the order types: the declared scenarios (active or not)."""
    return list(scenarios.ORDER_TYPES)


def is_order(ticket: Ticket) -> bool:
    return ticket.type.key in scenarios.ORDER_TYPES


def active_order_types() -> list[TicketType]:
    return list(db.session.scalars(
        select(TicketType).where(TicketType.key.in_(scenarios.ORDER_TYPES),
                                 TicketType.is_active.is_(True))
        .order_by(TicketType.order, TicketType.key)))


def _require_staff(actor: User | None) -> None:
    if actor is not None and actor.is_customer:
        raise NotFound("Ticket not found.")
    permissions.require(actor, MANAGE)


def _require_order(ticket: Ticket, viewer: User | None) -> Ticket:
    permissions.require_view(viewer, ticket)
    if not is_order(ticket):
        raise NotFound("Order not found.")
    return ticket


def get_order(ticket_id: int, viewer: User | None) -> Ticket:
    """An order ``viewer`` may see; another customer's (or a missing one) is ``NotFound``."""
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("Order not found.")
    return _require_order(ticket, viewer)


def orders_of(viewer: User) -> list[Ticket]:
    """The customer's orders, newest first (the portal's "My orders")."""
    if viewer.customer_id is None:
        return []
    return list(db.session.scalars(
        select(Ticket).join(TicketType, Ticket.type_id == TicketType.id)
        .where(Ticket.customer_id == viewer.customer_id,
               TicketType.key.in_(scenarios.ORDER_TYPES))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())))


def requests_of(viewer: User) -> list[Ticket]:
    """The customer's requests still waiting to become orders."""
    if viewer.customer_id is None:
        return []
    return list(db.session.scalars(
        select(Ticket).join(TicketType, Ticket.type_id == TicketType.id)
        .join(Status, Ticket.status_id == Status.id)
        .where(Ticket.customer_id == viewer.customer_id,
               TicketType.key == scenarios.REQUEST_TYPE, Status.group == "open")
        .order_by(Ticket.created_at.desc())))


# -- stages (O3) ------------------------------------------------------------------------


@dataclass
class Stage:
    key: str
    name: str
    state: str  # passed | current | ahead


def stages(ticket: Ticket) -> list[Stage]:
    """The order's stages in pipeline order: those passed, the current one and those
    ahead. A closed stage other than the current one is never "ahead" (an order is
    not heading for "Cancelled"); a cancelled order shows the stages it passed
    before it was cancelled and nothing ahead."""
    current = ticket.status
    statuses = list(ticket.type.pipeline.statuses)
    if current.group == "closed_failure":
        reached = _cancelled_from(ticket)
        keys = [s.key for s in statuses]
        last = keys.index(reached) if reached in keys else -1
        passed = [Stage(s.key, s.name, "passed") for s in statuses[:last + 1]
                  if s.group == "open"]
        return [*passed, Stage(current.key, current.name, "current")]
    result: list[Stage] = []
    seen = False
    for status in statuses:
        if status.id == current.id:
            result.append(Stage(status.key, status.name, "current"))
            seen = True
        elif not seen and status.group == "open":
            result.append(Stage(status.key, status.name, "passed"))
        elif seen and status.group != "closed_failure":
            result.append(Stage(status.key, status.name, "ahead"))
    return result


def _cancelled_from(ticket: Ticket) -> str | None:
    from kernel.models import TicketEvent

    event = db.session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                  TicketEvent.kind == "status_changed")
        .order_by(TicketEvent.id.desc()).limit(1))
    return (event.data or {}).get("from") if event is not None else None


# -- requests (O1, O2) -------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, limit: int, errors: dict, required=False) -> str:
    raw = data.get(key)
    value = raw.strip() if isinstance(raw, str) else ""
    if raw is not None and not isinstance(raw, str):
        errors[key] = [N_("Must be text.")]
    elif required and not value:
        errors[key] = [N_("This field is required.")]
    elif len(value) > limit:
        errors[key] = [f"Longer than maximum length {limit}."]
    return value


def _request_values(data: Mapping[str, Any], errors: dict) -> dict[str, Any]:
    details = _text(data, "details", 10_000, errors, required=True)
    subject = _text(data, "subject", 300, errors)
    values = {
        "subject": subject or _subject_of(details),
        "text": details,
        "orders_request_details": details,
    }
    for form_key, field_key, limit in (("address", "orders_request_address", 500),
                                       ("budget", "orders_request_budget", 100)):
        value = _text(data, form_key, limit, errors)
        if value:
            values[field_key] = value
    return values


def _subject_of(details: str) -> str:
    first = details.splitlines()[0] if details else ""
    return first[:80] + ("…" if len(first) > 80 else "")


def submit_request(data: Mapping[str, Any], actor: User, via: str = "web") -> Ticket:
    """A signed-in customer's request from the portal (O1)."""
    if actor is None or not actor.is_customer:
        raise PermissionDenied(N_("Only customers send requests from the portal."))
    errors: dict[str, list[str]] = {}
    values = _request_values(data, errors)
    if errors:
        raise ValidationFailed(errors)
    return tickets.create(values, actor=actor, type=scenarios.REQUEST_TYPE, via=via)


def submit_public_request(data: Mapping[str, Any], via: str = "orders:form") -> Ticket:
    """A request from the embeddable form on a company's site (O1): the customer is
    found by e-mail, then by phone, or created; the request is theirs."""
    errors: dict[str, list[str]] = {}
    name = _text(data, "name", 200, errors, required=True)
    email = _text(data, "email", 254, errors).lower()
    phone = _text(data, "phone", 64, errors)
    values = _request_values(data, errors)
    if email:
        try:
            from marshmallow import fields as mfields

            mfields.Email().deserialize(email)
        except Exception:  # marshmallow.ValidationError
            errors["email"] = [N_("Not a valid email address.")]
    normalized = None
    if phone:
        try:
            normalized = phones.normalize(phone, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
        except phones.InvalidPhone as exc:
            errors["phone"] = [str(exc)]
    if not email and not phone and "email" not in errors:
        errors["email"] = [N_("Give an e-mail or a phone so we can answer you.")]
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        customer = _find_customer(email, normalized)
        if customer is None:
            customer = customers.create({"name": name, "emails": [email] if email else [],
                                         "phones": [phone] if phone else []}, actor=None)
        values.update({"customer": customer.id, "orders_contact_name": name})
        if email:
            values["orders_contact_email"] = email
        if phone:
            values["orders_contact_phone"] = phone
        return tickets.create(values, actor=None, type=scenarios.REQUEST_TYPE, via=via)


def _find_customer(email: str, phone: str | None) -> Customer | None:
    if email:
        found = customers.find_by_email(email, viewer=None)
        if found:
            return found[0]
    if phone:
        found = customers.find_by_phone(phone, viewer=None)
        if found:
            return found[0]
    return None


def inbox(actor: User | None, state: str = "new") -> list[Ticket]:
    """Requests for agents: ``new`` (open), ``converted``, ``rejected`` or ``all``."""
    _require_staff(actor)
    query = (select(Ticket).join(TicketType, Ticket.type_id == TicketType.id)
             .join(Status, Ticket.status_id == Status.id)
             .where(TicketType.key == scenarios.REQUEST_TYPE))
    if state == "new":
        query = query.where(Status.group == "open")
    elif state in ("converted", "rejected"):
        query = query.where(Status.key == state)
    return list(db.session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                   .limit(500)))


def converted_order(request_ticket: Ticket) -> Ticket | None:
    """The order a request was converted into, if any."""
    for link in links.links_of(request_ticket):
        if link.kind == "converted_to" and link.source_id == request_ticket.id:
            return link.target
    return None


def convert(request_ticket: Ticket, order_type: str, actor: User | None,
            via: str | None = None) -> Ticket:
    """Turn a valid request into an order of ``order_type`` (O2): the order gets the
    request's customer and details, the request is linked (``converted_to``) and
    closes as converted — all in one transaction."""
    _require_staff(actor)
    permissions.require_view(actor, request_ticket)
    if not is_request(request_ticket):
        raise ValidationFailed({"request": N_("This ticket is not an order request.")})
    if request_ticket.is_closed:
        raise ValidationFailed({"request": "This request is closed already "
                                           f"({request_ticket.status.name})."})
    ttype = next((t for t in active_order_types() if t.key == order_type), None)
    if ttype is None:
        known = ", ".join(t.key for t in active_order_types()) or "none"
        raise ValidationFailed({"order_type": f"Unknown order type {order_type!r}; "
                                              f"known: {known}."})
    if request_ticket.customer_id is None:
        raise ValidationFailed({"customer": N_("The request has no customer; set one first.")})
    values: dict[str, Any] = {"subject": request_ticket.subject, "text": request_ticket.text,
                              "customer": request_ticket.customer_id}
    copied = {**scenarios.REQUEST_DETAILS, **{k: k for k in scenarios.CONTACT_FIELDS}}
    for source, target in copied.items():
        value = request_ticket.value(source)
        if value not in (None, ""):
            values[target] = value
    with unit_of_work():
        order = tickets.create(values, actor=actor, type=ttype.key, via=via)
        links.link(request_ticket, order, "converted_to", actor=actor, via=via)
        tickets.transition(request_ticket, "converted", actor=actor, via=via)
        tickets.record_custom_event(request_ticket, "orders.request_converted",
                                    {"order_id": order.id, "number": order.number,
                                     "type": ttype.key}, actor=actor, via=via)
    return order


def reject(request_ticket: Ticket, reason: str, actor: User | None,
           via: str | None = None) -> Ticket:
    """Refuse an invalid request with a reason the customer reads (O2)."""
    _require_staff(actor)
    permissions.require_view(actor, request_ticket)
    if not is_request(request_ticket):
        raise ValidationFailed({"request": N_("This ticket is not an order request.")})
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed({"reason": N_("Say why the request is rejected.")})
    if len(text) > MAX_REASON:
        raise ValidationFailed({"reason": f"Longer than maximum length {MAX_REASON}."})
    if request_ticket.is_closed:
        raise ValidationFailed({"request": "This request is closed already "
                                           f"({request_ticket.status.name})."})
    with unit_of_work():
        tickets.transition(request_ticket, "rejected", actor=actor, via=via, comment=text)
        messages.post(request_ticket, text, actor=actor, via=via)
    return request_ticket


# -- documents and links (O5) --------------------------------------------------------------


def _title(raw: Any, key: str = "title") -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationFailed({key: N_("This field is required.")})
    if len(text) > MAX_TITLE:
        raise ValidationFailed({key: f"Longer than maximum length {MAX_TITLE}."})
    return text


def check_url(raw: Any) -> str:
    """An absolute http(s) URL with a host; anything else is refused by name."""
    url = raw.strip() if isinstance(raw, str) else ""
    if not url:
        raise ValidationFailed({"url": N_("This field is required.")})
    if len(url) > MAX_URL:
        raise ValidationFailed({"url": f"Longer than maximum length {MAX_URL}."})
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValidationFailed({"url": N_("Not a valid address.")}) from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed({"url": N_("Only http:// and https:// links can be published.")})
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise ValidationFailed({"url": N_("Not a valid address.")})
    return url


def publish_link(ticket: Ticket, data: Mapping[str, Any], actor: User | None,
                 via: str | None = None) -> Link:
    _require_staff(actor)
    _require_order(ticket, actor)
    title = _title(data.get("title"))
    url = check_url(data.get("url"))
    kind = data.get("kind") or "other"
    if kind not in LINK_KINDS:
        raise ValidationFailed({"kind": f"Unknown kind {kind!r}; known: {', '.join(LINK_KINDS)}."})
    with unit_of_work():
        link = Link(ticket_id=ticket.id, kind=kind, title=title, url=url,
                    published_by_id=actor.id if actor else None, published_at=utcnow())
        db.session.add(link)
        db.session.flush()
        tickets.record_custom_event(ticket, "orders.link_published",
                                    {"link_id": link.id, "title": title, "url": url,
                                     "kind": kind}, actor=actor, via=via)
    return link


def publish_document(ticket: Ticket, upload: Any, title: str | None, actor: User | None,
                     via: str | None = None) -> Document:
    """Store the file as an internal kernel attachment (no kernel door shows it to
    the customer) and publish it on the order's card."""
    _require_staff(actor)
    _require_order(ticket, actor)
    if upload is None or not getattr(upload, "filename", None):
        raise ValidationFailed({"file": N_("Choose a file.")})
    name = title if isinstance(title, str) and title.strip() else upload.filename
    name = _title(name)
    with unit_of_work():
        attachment = attachments.attach(ticket, upload, actor=actor, via=via, internal=True)
        document = Document(ticket_id=ticket.id, attachment_id=attachment.id, title=name,
                            published_by_id=actor.id if actor else None, published_at=utcnow())
        db.session.add(document)
        db.session.flush()
        tickets.record_custom_event(ticket, "orders.document_published",
                                    {"document_id": document.id, "title": name,
                                     "filename": attachment.filename}, actor=actor, via=via)
    return document


def _own(model, ticket: Ticket, item_id: int):
    item = get_by_id(model, item_id)
    if item is None or item.ticket_id != ticket.id:
        raise NotFound("Not found.")
    return item


def withdraw_link(ticket: Ticket, link_id: int, actor: User | None,
                  via: str | None = None) -> Link:
    return _withdraw(ticket, Link, link_id, actor, via, "link",
                     N_("This link is withdrawn already."))


def withdraw_document(ticket: Ticket, document_id: int, actor: User | None,
                      via: str | None = None) -> Document:
    return _withdraw(ticket, Document, document_id, actor, via, "document",
                     N_("This document is withdrawn already."))


def _withdraw(ticket: Ticket, model: Any, item_id: int, actor: User | None, via: str | None,
              name: str, already: str) -> Any:
    """Withdraw a published link or document (O5): the customer no longer sees it,
    and the history says so (``orders.<name>_withdrawn``)."""
    _require_staff(actor)
    _require_order(ticket, actor)
    item = _own(model, ticket, item_id)
    if item.withdrawn_at is not None:
        raise ValidationFailed({name: already})
    with unit_of_work():
        item.withdrawn_at = utcnow()
        tickets.record_custom_event(ticket, f"orders.{name}_withdrawn",
                                    {f"{name}_id": item.id, "title": item.title},
                                    actor=actor, via=via)
    return item


def links_of(ticket: Ticket, viewer: User | None) -> list[Link]:
    """Links on the card: all of them for staff, only the published ones for the customer."""
    _require_order(ticket, viewer)
    query = select(Link).where(Link.ticket_id == ticket.id)
    if viewer is not None and viewer.is_customer:
        query = query.where(Link.withdrawn_at.is_(None))
    return list(db.session.scalars(query.order_by(Link.published_at, Link.id)))


def documents_of(ticket: Ticket, viewer: User | None) -> list[Document]:
    _require_order(ticket, viewer)
    query = select(Document).where(Document.ticket_id == ticket.id)
    if viewer is not None and viewer.is_customer:
        query = query.where(Document.withdrawn_at.is_(None))
    return list(db.session.scalars(query.order_by(Document.published_at, Document.id)))


def document_for_download(document_id: int, viewer: User | None) -> Document:
    """A document ``viewer`` may download: staff any of a ticket they see; the
    customer only a published one of their own order. Otherwise ``NotFound``."""
    document = get_by_id(Document, document_id)
    if document is None:
        raise NotFound("Document not found.")
    ticket = db.session.get(Ticket, document.ticket_id)
    if ticket is None or not permissions.can_view_ticket(viewer, ticket):
        raise NotFound("Document not found.")
    if viewer is not None and viewer.is_customer and document.withdrawn_at is not None:
        raise NotFound("Document not found.")
    return document


# -- notes (O6) ------------------------------------------------------------------------------


def add_note(ticket: Ticket, body: str, visible: bool, actor: User | None,
             via: str | None = None) -> Note:
    _require_staff(actor)
    _require_order(ticket, actor)
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise ValidationFailed({"body": N_("Write the note.")})
    if len(text) > MAX_NOTE:
        raise ValidationFailed({"body": f"Longer than maximum length {MAX_NOTE}."})
    with unit_of_work():
        now = utcnow()
        note = Note(ticket_id=ticket.id, author_id=actor.id if actor else None, body=text,
                    visible=bool(visible), created_at=now, updated_at=now)
        db.session.add(note)
        db.session.flush()
        tickets.record_custom_event(ticket, "orders.note_added",
                                    {"note_id": note.id, "visible": note.visible},
                                    actor=actor, via=via)
    return note


def set_note_visible(ticket: Ticket, note_id: int, visible: bool, actor: User | None,
                     via: str | None = None) -> Note:
    """Flip a note's "visible to the customer" switch; the flip is in the history."""
    _require_staff(actor)
    _require_order(ticket, actor)
    note = _own(Note, ticket, note_id)
    if note.visible == bool(visible):
        return note
    with unit_of_work():
        note.visible = bool(visible)
        note.updated_at = utcnow()
        kind = "orders.note_shown" if note.visible else "orders.note_hidden"
        tickets.record_custom_event(ticket, kind, {"note_id": note.id}, actor=actor, via=via)
    return note


def notes_of(ticket: Ticket, viewer: User | None) -> list[Note]:
    """Every note for staff; only the visible ones for the customer."""
    _require_order(ticket, viewer)
    query = select(Note).where(Note.ticket_id == ticket.id)
    if viewer is not None and viewer.is_customer:
        query = query.where(Note.visible.is_(True))
    return list(db.session.scalars(query.order_by(Note.created_at, Note.id)))


# -- customer edits (O7) ------------------------------------------------------------------------


def type_config(type_key: str) -> TypeConfig:
    """The order type's customer-edit setting (not stored yet: nothing is editable)."""
    found = db.session.get(TypeConfig, type_key)
    return found if found is not None else TypeConfig(type_key=type_key, editable_fields=[],
                                                      editable_stages=[])


def set_type_config(type_key: str, fields: list[str], stages: list[str],
                    actor: User | None = None) -> TypeConfig:
    permissions.require(actor, "admin.settings")
    if type_key not in scenarios.ORDER_TYPES:
        raise ValidationFailed({"type": f"Unknown order type {type_key!r}."})
    ttype = tickets.ticket_type(type_key) if _type_active(type_key) else _any_type(type_key)
    bad = [f for f in fields if f not in scenarios.DETAIL_FIELDS]
    if bad:
        raise ValidationFailed({"fields": f"Not an order detail: {', '.join(bad)}."})
    known = {s.key for s in ttype.pipeline.statuses}
    bad = [s for s in stages if s not in known]
    if bad:
        raise ValidationFailed({"stages": f"Not a stage of this order type: {', '.join(bad)}."})
    with unit_of_work():
        config = db.session.get(TypeConfig, type_key)
        if config is None:
            config = TypeConfig(type_key=type_key)
            db.session.add(config)
        config.editable_fields = list(dict.fromkeys(fields))
        config.editable_stages = list(dict.fromkeys(stages))
        config.updated_at = utcnow()
    return config


def apply_preset(type_key: str, actor: User | None = None) -> TypeConfig:
    """One click (item 10): the scenario's order type is switched on and gets the
    scenario's customer-edit setting."""
    from kernel.services import workflow

    permissions.require(actor, "admin.settings")
    scenario = scenarios.BY_KEY.get(type_key)
    if scenario is None:
        raise ValidationFailed({"type": f"Unknown order type {type_key!r}."})
    with unit_of_work():
        if not _any_type(type_key).is_active:
            workflow.update_type(type_key, {"is_active": True}, actor=actor)
        return set_type_config(type_key, list(scenario.editable_fields),
                               list(scenario.editable_stages), actor=actor)


def _type_active(key: str) -> bool:
    return any(t.key == key for t in active_order_types())


def _any_type(key: str) -> TicketType:
    found = db.session.scalar(select(TicketType).where(TicketType.key == key))
    if found is None:
        raise ValidationFailed({"type": f"Unknown order type {key!r}."})
    return found


def editable_fields(ticket: Ticket, viewer: User | None) -> list[str]:
    """The details this customer may change on this order now (none for staff)."""
    if viewer is None or not viewer.is_customer or not is_order(ticket):
        return []
    config = type_config(ticket.type.key)
    if ticket.status.key not in (config.editable_stages or []):
        return []
    return [f for f in scenarios.DETAIL_FIELDS if f in (config.editable_fields or [])]


def edit_details(ticket: Ticket, values: Mapping[str, Any], actor: User,
                 via: str | None = "web") -> dict[str, list[Any]]:
    """The customer changes chosen details of their order in chosen stages (O7).
    The change is in the history (``fields_changed`` and ``orders.customer_edited``
    by the customer) and tells the manager with an internal note on the order."""
    _require_order(ticket, actor)
    if actor is None or not actor.is_customer:
        raise PermissionDenied(N_("Only the order's customer edits it here."))
    if not isinstance(values, Mapping):
        raise ValidationFailed({"_schema": "Expected an object of field values."})
    allowed = editable_fields(ticket, actor)
    if not allowed:
        raise ValidationFailed({"_schema": "The details of this order cannot be changed at "
                                           f"the stage {ticket.status.name!r}."})
    bad = [k for k in values if k not in allowed]
    if bad:
        raise ValidationFailed({k: [N_("You cannot change this detail.")] for k in bad})
    with unit_of_work():
        changes = tickets.update(ticket, dict(values), actor=None, via="orders:customer")
        if changes:
            tickets.record_custom_event(ticket, "orders.customer_edited",
                                        {"changes": changes}, actor=actor, via=via)
            messages.post(ticket, _edit_note(ticket, changes), actor=None, internal=True,
                          via=VIA)
    return changes


def _edit_note(ticket: Ticket, changes: dict[str, list[Any]]) -> str:
    from kernel import fieldset
    from web import i18n

    locale = (ticket.assignee.locale if ticket.assignee else None) or runtime.config(
        "HOOKDESK_DEFAULT_LOCALE", "ru")
    with i18n.use(locale):
        from flask_babel import gettext as _

        lines = [_("The customer changed the order's details:")]
        for key, (old, new) in changes.items():
            field = fieldset.get(key)
            label = i18n.translate_label(field.label) if field else key
            lines.append(f"• {label}: {old or '—'} → {new or '—'}")
    return "\n".join(lines)


# -- leads (A8) ---------------------------------------------------------------------------------


def lead_types() -> list[str]:
    """Ticket types whose open tickets count as leads (setting ``orders.lead_types``)."""
    raw = kernel_settings.get("orders.lead_types", "request") or ""
    return [k for k in (p.strip() for p in str(raw).replace(";", ",").split(",")) if k]


def _phones_of(order: Ticket) -> set[str]:
    found: set[str] = set()
    if order.customer is not None:
        found.update(p.number for p in order.customer.phones)
    raw = order.value("orders_contact_phone")
    if raw:
        with contextlib.suppress(phones.InvalidPhone):
            found.add(phones.normalize(str(raw), runtime.config("HOOKDESK_DEFAULT_REGION", "RU")))
    return found


def _ticket_phone(ticket: Ticket) -> str | None:
    for key in ("contact_phone", "orders_contact_phone"):
        raw = ticket.value(key)
        if raw:
            try:
                return phones.normalize(str(raw), runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
            except phones.InvalidPhone:
                continue
    return None


def matching_leads(order: Ticket, viewer: User | None = None) -> list[Ticket]:
    """Open tickets of a lead type whose customer's phone, or contact phone, is the
    order's customer's phone (or the order's contact phone), not yet linked to it."""
    if not is_order(order) or (viewer is not None and viewer.is_customer):
        return []
    numbers = _phones_of(order)
    types = lead_types()
    if not numbers or not types:
        return []
    base = (select(Ticket).join(TicketType, Ticket.type_id == TicketType.id)
            .join(Status, Ticket.status_id == Status.id)
            .where(TicketType.key.in_(types), Status.group == "open", Ticket.id != order.id))
    by_customer = set(db.session.scalars(base.where(Ticket.customer_id.in_(
        select(CustomerPhone.customer_id).where(CustomerPhone.number.in_(numbers))))))
    recent = db.session.scalars(base.order_by(Ticket.id.desc()).limit(1000))
    by_contact = {t for t in recent if _ticket_phone(t) in numbers}
    linked = {lk.source_id if lk.target_id == order.id else lk.target_id
              for lk in links.links_of(order)}
    found = [t for t in by_customer | by_contact if t.id not in linked]
    found = [t for t in found if viewer is None or permissions.can_view_ticket(viewer, t)]
    return sorted(found, key=lambda t: t.id)


def link_lead(order: Ticket, lead_id: int, actor: User | None,
              via: str | None = None) -> Ticket:
    """Link the lead to the order and move it to "Successful order" (A8)."""
    _require_staff(actor)
    _require_order(order, actor)
    lead = next((t for t in matching_leads(order, actor) if t.id == lead_id), None)
    if lead is None:
        raise ValidationFailed({"lead": N_("This ticket is not an open lead matching the "
                                           "order's phone.")})
    target = lead.type.pipeline.status(scenarios.LEAD_SUCCESS)
    if target is None:
        raise ValidationFailed({"lead": f"The pipeline {lead.type.pipeline.key!r} has no "
                                        "\"Successful order\" status."})
    with unit_of_work():
        links.link(lead, order, "related", actor=actor, via=via)
        tickets.transition(lead, scenarios.LEAD_SUCCESS, actor=actor, via=via)
        tickets.record_custom_event(order, "orders.lead_linked",
                                    {"lead_id": lead.id, "number": lead.number},
                                    actor=actor, via=via)
    return lead
