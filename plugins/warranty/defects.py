"""Defects of a claim (W4): added by the buyer with the claim or later, each with
a category, a description, photos and a mark on the apartment's plan; worked by
agents one by one. Every change goes through here and lands on the claim's
timeline as a ``warranty.defect_*`` event, so triggers and webhooks see it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import func, select

from kernel import fieldset, permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Ticket, User
from kernel.services import attachments, tickets
from kernel.services import settings as settings_service
from kernel.services.uow import unit_of_work
from plugins.warranty import property as prop
from plugins.warranty.models import DEFECT_STATUSES, DONE_STATUSES, Defect, DefectPhoto

WORK = "warranty.defects"
ENABLED_SETTING = "warranty.defects_enabled"
CATEGORY_LIST = "warranty.defect_categories"
MAX_DEFECTS = 50
MAX_PHOTOS = 10
PHOTO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/heic"}
EVENT_ADDED = "warranty.defect_added"
EVENT_STATUS = "warranty.defect_status_changed"


def enabled() -> bool:
    """W6: defects may be switched off for a deployment."""
    return bool(settings_service.get(ENABLED_SETTING, True))


def categories() -> list[tuple[str, str]]:
    """Visible items of the admin's defect category list."""
    return _list_items(CATEGORY_LIST)


def _list_items(key: str) -> list[tuple[str, str]]:
    from kernel.models import ChoiceList

    clist = db.session.scalar(select(ChoiceList).where(ChoiceList.key == key))
    return [] if clist is None else [(i.value, i.label) for i in clist.items if i.visible]


class DefectSchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=64),
                             error_messages={"required": "Choose a category."})
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000),
                                error_messages={"required": "Describe the defect."})
    x = fields.Float(allow_none=True, load_default=None, allow_nan=False,
                     validate=validate.Range(min=0, max=1))
    y = fields.Float(allow_none=True, load_default=None, allow_nan=False,
                     validate=validate.Range(min=0, max=1))


def check(data: Any, prefix: str = "") -> dict[str, Any]:
    """One defect's data, validated; errors named ``<prefix><field>``."""
    if not isinstance(data, dict):
        raise ValidationFailed({prefix.rstrip(".") or "_schema": "Expected an object."})
    problems: dict[str, list[str]] = {}
    try:
        loaded = DefectSchema().load(data)
    except SchemaError as exc:
        loaded = {}
        for key, messages in exc.normalized_messages().items():
            problems[f"{prefix}{key}"] = list(messages)
    description = str(loaded.get("description", data.get("description")) or "").strip()
    if not description and f"{prefix}description" not in problems:
        problems[f"{prefix}description"] = ["Describe the defect."]
    category = data.get("category")
    if (isinstance(category, str) and category
            and category not in {v for v, _ in _list_items(CATEGORY_LIST)}):
        problems[f"{prefix}category"] = ["Choose a category from the list."]
    if loaded and (loaded["x"] is None) != (loaded["y"] is None):
        problems[f"{prefix}x"] = ["A mark needs both x and y."]
    if problems:
        raise ValidationFailed(problems)
    loaded["description"] = description
    return loaded


def for_ticket(ticket: Ticket) -> list[Defect]:
    return list(db.session.scalars(
        select(Defect).where(Defect.ticket_id == ticket.id).order_by(Defect.position)))


def get(ticket: Ticket, defect_id: int) -> Defect:
    defect = get_by_id(Defect, defect_id)
    if defect is None or defect.ticket_id != ticket.id:
        raise NotFound("Defect not found.")
    return defect


def progress(ticket: Ticket) -> tuple[int, int]:
    """``(done, total)`` defects of the claim."""
    rows = db.session.execute(
        select(Defect.status, func.count()).where(Defect.ticket_id == ticket.id)
        .group_by(Defect.status)).all()
    total = sum(n for _s, n in rows)
    done = sum(n for s, n in rows if s in DONE_STATUSES)
    return done, total


def open_count(ticket: Ticket) -> int:
    done, total = progress(ticket)
    return total - done


def _check_photos(photos: list[Any], prefix: str) -> None:
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed({f"{prefix}photos": f"At most {MAX_PHOTOS} photos a defect."})


def add(ticket: Ticket, data: dict[str, Any], photos: list[Any] | None = None,
        actor: User | None = None, via: str | None = None, prefix: str = "") -> Defect:
    """Add one defect (and its photos) to a claim the actor may see.

    Buyers add defects to their own open claims; agents need "work defects".
    The mark needs the apartment to have a plan."""
    permissions.require_view(actor, ticket)
    if not enabled():
        raise ValidationFailed({prefix.rstrip(".") or "defects":
                                "Defects are switched off in this deployment."})
    if not _is_claim(ticket):
        raise ValidationFailed({prefix.rstrip(".") or "defects":
                                "This ticket has no apartment: defects belong to claims."})
    if actor is not None and not actor.is_customer:
        permissions.require(actor, WORK)
    elif ticket.is_closed:
        raise ValidationFailed({prefix.rstrip(".") or "defects":
                                "The claim is closed: defects cannot be added."})
    values = check(data, prefix)
    photos = list(photos or [])
    _check_photos(photos, prefix)
    apartment = prop.apartment_of(ticket)
    if values["x"] is not None and (apartment is None or not apartment.has_plan):
        raise ValidationFailed({f"{prefix}x": "The apartment has no plan to mark on."})
    with unit_of_work():
        count = db.session.scalar(select(func.count()).select_from(Defect)
                                  .where(Defect.ticket_id == ticket.id)) or 0
        if count >= MAX_DEFECTS:
            raise ValidationFailed({prefix.rstrip(".") or "defects":
                                    f"At most {MAX_DEFECTS} defects a claim."})
        position = (db.session.scalar(select(func.max(Defect.position))
                                      .where(Defect.ticket_id == ticket.id)) or 0) + 1
        defect = Defect(ticket_id=ticket.id, position=position, status="new", **values)
        db.session.add(defect)
        db.session.flush()
        for upload in photos:
            try:
                attachment = attachments.attach(ticket, upload, actor=actor, via=via)
            except ValidationFailed as exc:
                raise ValidationFailed({f"{prefix}photos": m for ms in exc.errors.values()
                                        for m in ms}) from exc
            if attachment.content_type not in PHOTO_TYPES:
                raise ValidationFailed({f"{prefix}photos": "Photos must be images."})
            defect.photos.append(DefectPhoto(attachment_id=attachment.id))
        db.session.flush()
        tickets.record_custom_event(
            ticket, EVENT_ADDED,
            {"defect": position, "category": defect.category,
             "description": defect.description[:200], "photos": len(photos),
             "marked": defect.marked},
            actor=actor, via=via)
    return defect


def add_photo(ticket: Ticket, defect: Defect, upload: Any, actor: User | None,
                 via: str | None = "api") -> Defect:
    """Add one photo to an existing defect: stored as an attachment of the claim and
    tied to the defect, or nothing at all. The same rules as adding a defect with
    photos (``add``): buyers on their open claims, agents with "work defects"."""
    permissions.require_view(actor, ticket)
    if defect.ticket_id != ticket.id:
        raise NotFound("Defect not found.")
    if not enabled():
        raise ValidationFailed({"file": "Defects are switched off in this deployment."})
    if actor is not None and not actor.is_customer:
        permissions.require(actor, WORK)
    elif ticket.is_closed:
        raise ValidationFailed({"file": "The claim is closed: photos cannot be added."})
    if len(defect.photos) >= MAX_PHOTOS:
        raise ValidationFailed({"file": f"At most {MAX_PHOTOS} photos a defect."})
    with unit_of_work():
        attachment = attachments.attach(ticket, upload, actor=actor, via=via)
        if attachment.content_type not in PHOTO_TYPES:
            raise ValidationFailed({"file": "Photos must be images."})
        defect.photos.append(DefectPhoto(attachment_id=attachment.id))
        db.session.flush()
    return defect


def set_status(ticket: Ticket, defect: Defect, status: str, actor: User | None = None,
               via: str | None = None) -> Defect:
    """Move one defect to ``status``; agents only ("work defects")."""
    permissions.require_view(actor, ticket)
    if actor is not None and actor.is_customer:
        raise NotFound("Defect not found.")
    permissions.require(actor, WORK)
    if status not in DEFECT_STATUSES:
        raise ValidationFailed({"status": f"One of {', '.join(DEFECT_STATUSES)}."})
    if defect.ticket_id != ticket.id:
        raise NotFound("Defect not found.")
    if defect.status == status:
        return defect
    with unit_of_work():
        old = defect.status
        defect.status = status
        defect.updated_at = utcnow()
        db.session.flush()
        done, total = progress(ticket)
        tickets.record_custom_event(
            ticket, EVENT_STATUS,
            {"defect": defect.position, "category": defect.category, "from": old, "to": status,
             "done": done, "total": total},
            actor=actor, via=via)
    return defect


def _is_claim(ticket: Ticket) -> bool:
    return any(f.key == prop.APARTMENT_FIELD for f in fieldset.for_type(ticket.type, "agent"))


def photos_of(defect: Defect, viewer: User | None) -> list[Any]:
    """The defect's photos the viewer may download."""
    found = []
    for photo in defect.photos:
        try:
            found.append(attachments.get(photo.attachment_id, viewer))
        except NotFound:
            continue
    return found
