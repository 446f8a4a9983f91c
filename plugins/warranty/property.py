"""Houses, apartments, their plans and their owners (W1, W2): the one place
that changes them — the admin screens, the API, the CSV import and the demo
all call these functions, so validation and the audit log happen here."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import String as SqlString
from sqlalchemy import cast, func, select

from kernel import permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, Ticket, User
from kernel.services import attachments, audit
from kernel.services import settings as settings_service
from kernel.services.audit import audited
from kernel.services.uow import unit_of_work
from plugins.warranty.models import Apartment, House, Ownership

MANAGE = "warranty.manage"
CUSTOMERS_VIEW = "customers.view"  # the kernel's "Can see customers" (A3)
APARTMENT_FIELD = "apartment"
RESTRICT_SETTING = "warranty.restrict_by_warranty"
PLAN_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_PLAN_PIXELS = 40_000_000


class HouseSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default="", validate=validate.Length(max=500))
    warranty_until = fields.Date(required=True)


class ApartmentSchema(Schema):
    house_id = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=2**31 - 1))
    number = fields.String(required=True, validate=validate.Length(min=1, max=20))
    floor = fields.Integer(allow_none=True, load_default=None, strict=False,
                           validate=validate.Range(min=-10, max=300))


NUMBER_TAKEN = N_("This house already has an apartment with this number.")
# marshmallow's own words for the floor's range, marked so pages translate them.
FLOOR_RANGE = N_("Must be greater than or equal to -10 and less than or equal to 300.")


def _load(schema: Schema, data: Any, partial: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed({"_schema": "Expected an object of field values."})
    try:
        loaded = schema.load(data, partial=partial)
    except SchemaError as exc:
        raise ValidationFailed(exc.normalized_messages()) from exc
    for key in ("name", "address", "number"):
        if isinstance(loaded.get(key), str):
            loaded[key] = loaded[key].strip()
    if "name" in loaded and not loaded["name"]:
        raise ValidationFailed({"name": "This field is required."})
    if "number" in loaded and not loaded["number"]:
        raise ValidationFailed({"number": "This field is required."})
    return loaded


def today() -> date:
    return date.today()


def restricted() -> bool:
    """The "restrict by warranty" option (W3)."""
    return bool(settings_service.get(RESTRICT_SETTING, False))


# -- reading ---------------------------------------------------------------------------


def get_house(house_id: int) -> House:
    house = get_by_id(House, house_id)
    if house is None:
        raise NotFound("House not found.")
    return house


def get_apartment(apartment_id: int) -> Apartment:
    apartment = get_by_id(Apartment, apartment_id)
    if apartment is None:
        raise NotFound("Apartment not found.")
    return apartment


def apartment_by_value(raw: Any) -> Apartment | None:
    """The apartment an ``apartment`` field value names, or None."""
    return get_by_id(Apartment, int(raw)) if str(raw or "").isdigit() else None


def apartment_of(ticket: Ticket) -> Apartment | None:
    """The claim's apartment (None for a ticket without one)."""
    return apartment_by_value((ticket.values or {}).get(APARTMENT_FIELD))


def houses() -> list[House]:
    return list(db.session.scalars(select(House).order_by(House.name)))


def apartments(house: House | None = None) -> list[Apartment]:
    query = select(Apartment).join(House).order_by(House.name, Apartment.id)
    if house is not None:
        query = query.where(Apartment.house_id == house.id)
    return list(db.session.scalars(query))


def label(apartment: Apartment) -> str:
    """How an apartment is named in forms and on cards: ``House, apt. 12``."""
    from flask_babel import gettext

    return gettext("%(house)s, apt. %(number)s", house=apartment.house.name,
                   number=apartment.number)


def apartments_of(customer: Customer | None, active_only: bool = False) -> list[Apartment]:
    """The apartments ``customer`` owns (all apartments for ``None``), in house order;
    ``active_only``: only those whose house is still under warranty."""
    query = select(Apartment).join(House).order_by(House.name, Apartment.id)
    if customer is not None:
        query = query.where(Apartment.id.in_(
            select(Ownership.apartment_id).where(Ownership.customer_id == customer.id)))
    if active_only:
        query = query.where(House.warranty_until >= today())
    return list(db.session.scalars(query))


def owners(apartment: Apartment) -> list[Customer]:
    return list(db.session.scalars(
        select(Customer).join(Ownership, Ownership.customer_id == Customer.id)
        .where(Ownership.apartment_id == apartment.id).order_by(Customer.name)))


def owners_by_apartment(apartment_ids: list[int]) -> dict[int, list[Customer]]:
    """The owners of many apartments in one query (a list page would otherwise ask
    once per row), by name."""
    found: dict[int, list[Customer]] = {i: [] for i in apartment_ids}
    if not apartment_ids:
        return found
    rows = db.session.execute(
        select(Ownership.apartment_id, Customer)
        .join(Customer, Ownership.customer_id == Customer.id)
        .where(Ownership.apartment_id.in_(apartment_ids))
        .order_by(Customer.name, Customer.id)).all()
    for apartment_id, customer in rows:
        found[apartment_id].append(customer)
    return found


def may_see_owners(viewer: User | None) -> bool:
    """Owners are customers (A3): their names need "can see customers", or
    "manage houses, apartments and buyers" (who manages buyers names them)."""
    if viewer is None:
        return True
    return not viewer.is_customer and (permissions.has(viewer, CUSTOMERS_VIEW)
                                       or permissions.has(viewer, MANAGE))


def owners_for(apartment_ids: list[int], viewer: User | None) -> dict[int, list[Customer]]:
    """``owners_by_apartment`` for ``viewer``, refused unless ``may_see_owners``."""
    if not may_see_owners(viewer):
        raise PermissionDenied("You are not allowed to see the owners of apartments "
                               "(Can see customers).")
    return owners_by_apartment(apartment_ids)


def apartment_counts() -> dict[int, int]:
    """How many apartments each house has, by house id (an empty house is left out)."""
    rows = db.session.execute(
        select(Apartment.house_id, func.count()).group_by(Apartment.house_id))
    return {house_id: count for house_id, count in rows}


def claims_count(apartment: Apartment) -> int:
    """Tickets whose apartment field points at this apartment."""
    value = cast(Ticket.values[APARTMENT_FIELD].as_string(), SqlString)
    return db.session.scalar(
        select(func.count()).select_from(Ticket).where(value == str(apartment.id))) or 0


# -- houses ---------------------------------------------------------------------------


def _unique_house_name(name: str, house: House | None = None) -> None:
    # Compared in Python: SQLite's lower() folds only ASCII letters. Houses are few.
    wanted = name.casefold()
    clash = next((h for h in db.session.scalars(select(House)) if h.name.casefold() == wanted),
                 None)
    if clash is not None and clash is not house:
        raise ValidationFailed({"name": N_("A house with this name already exists.")})


@audited("warranty.house_create")
def create_house(data: dict[str, Any], actor: User | None = None) -> House:
    permissions.require(actor, MANAGE)
    values = _load(HouseSchema(), data)
    _unique_house_name(values["name"])
    with unit_of_work():
        house = House(**values)
        db.session.add(house)
        db.session.flush()
    return house


@audited("warranty.house_update")
def update_house(house: House, data: dict[str, Any], actor: User | None = None) -> House:
    permissions.require(actor, MANAGE)
    values = _load(HouseSchema(), data, partial=True)
    if "name" in values:
        _unique_house_name(values["name"], house)
    with unit_of_work():
        for key, value in values.items():
            setattr(house, key, value)
        db.session.flush()
    return house


@audited("warranty.house_delete")
def delete_house(house: House, actor: User | None = None) -> None:
    permissions.require(actor, MANAGE)
    count = db.session.scalar(select(func.count()).select_from(Apartment)
                              .where(Apartment.house_id == house.id)) or 0
    if count:
        raise ValidationFailed({"house": N_("The house has apartments: delete them first.")})
    with unit_of_work():
        db.session.delete(house)


# -- apartments -----------------------------------------------------------------------


def _unique_number(house_id: int, number: str, apartment: Apartment | None = None) -> None:
    clash = db.session.scalar(select(Apartment).where(Apartment.house_id == house_id,
                                                      Apartment.number == number))
    if clash is not None and clash is not apartment:
        raise ValidationFailed({"number": NUMBER_TAKEN})


def _house_for(house_id: int) -> House:
    house = get_by_id(House, house_id)
    if house is None:
        raise ValidationFailed({"house_id": N_("No such house.")})
    return house


@audited("warranty.apartment_create")
def create_apartment(data: dict[str, Any], actor: User | None = None) -> Apartment:
    permissions.require(actor, MANAGE)
    values = _load(ApartmentSchema(), data)
    _house_for(values["house_id"])
    _unique_number(values["house_id"], values["number"])
    with unit_of_work():
        apartment = Apartment(**values)
        db.session.add(apartment)
        db.session.flush()
    return apartment


def create_apartments(house: House, items: list[dict[str, Any]],
                      actor: User | None = None) -> list[Apartment]:
    """Many new apartments of one house at once (the CSV import), checked as
    ``create_apartment`` checks one: errors are named ``<index>.<field>``, and a
    number the house already has, or that repeats in ``items``, is refused. One
    audit row for the batch instead of one per apartment, and one flush."""
    permissions.require(actor, MANAGE)
    taken = set(db.session.scalars(select(Apartment.number)
                                   .where(Apartment.house_id == house.id)))
    problems: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            values = _load(ApartmentSchema(), {**item, "house_id": house.id})
        except ValidationFailed as exc:
            for key, messages in exc.errors.items():
                problems[f"{index}.{key}"] = messages
            continue
        if values["number"] in taken:
            problems[f"{index}.number"] = [NUMBER_TAKEN]
            continue
        taken.add(values["number"])
        rows.append(values)
    if problems:
        raise ValidationFailed(problems)
    with unit_of_work():
        created = [Apartment(**values) for values in rows]
        db.session.add_all(created)
        db.session.flush()
        audit.record("warranty.apartments_create", house.name,
                     {"house": house.id, "count": len(created),
                      "numbers": [a.number for a in created[:100]]}, actor)
    return created


def add_owners(pairs: list[tuple[Apartment, int]], actor: User | None = None) -> int:
    """Link many (apartment, customer id) pairs (the CSV import); pairs already
    linked are skipped. Returns how many were added. One audit row for the batch."""
    permissions.require(actor, MANAGE)
    wanted = {(a.id, c) for a, c in pairs}
    if not wanted:
        return 0
    ids = {c for _a, c in wanted}
    known = set(db.session.scalars(select(Customer.id).where(Customer.id.in_(ids))))
    missing = sorted(ids - known)
    if missing:
        raise ValidationFailed({"customer_id": f"No such customer: {missing[0]}."})
    have = {(a, c) for a, c in db.session.execute(
        select(Ownership.apartment_id, Ownership.customer_id)
        .where(Ownership.apartment_id.in_({a for a, _c in wanted})))}
    new = sorted(wanted - have)
    with unit_of_work():
        db.session.add_all([Ownership(apartment_id=a, customer_id=c) for a, c in new])
        db.session.flush()
        audit.record("warranty.owners_add", "", {"count": len(new)}, actor)
    return len(new)


@audited("warranty.apartment_update")
def update_apartment(apartment: Apartment, data: dict[str, Any],
                     actor: User | None = None) -> Apartment:
    permissions.require(actor, MANAGE)
    values = _load(ApartmentSchema(), data, partial=True)
    house_id = values.get("house_id", apartment.house_id)
    if "house_id" in values:
        _house_for(house_id)
    if "number" in values or "house_id" in values:
        _unique_number(house_id, values.get("number", apartment.number), apartment)
    with unit_of_work():
        for key, value in values.items():
            setattr(apartment, key, value)
        db.session.flush()
        db.session.refresh(apartment, ["house"])
    return apartment


@audited("warranty.apartment_delete")
def delete_apartment(apartment: Apartment, actor: User | None = None) -> None:
    permissions.require(actor, MANAGE)
    if claims_count(apartment):
        raise ValidationFailed({"apartment": N_("The apartment has claims: it cannot be deleted.")})
    with unit_of_work():
        db.session.delete(apartment)


# -- plans ----------------------------------------------------------------------------


def read_plan(upload: Any) -> tuple[bytes, str, int, int]:
    """The bytes, content type and size of a plan image; refuses anything that is
    not a PNG, JPEG or WebP picture (decoded, not trusted by its name)."""
    from PIL import Image, UnidentifiedImageError

    stream = upload.stream if hasattr(upload, "stream") else upload
    limit = attachments.max_bytes()
    raw = stream.read(limit + 1)
    if not raw:
        raise ValidationFailed({"plan": N_("The file is empty.")})
    if len(raw) > limit:
        raise ValidationFailed({"plan": N_("The plan image is larger than the attachment limit.")})
    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = image.format
            width, height = image.size
            if width * height > MAX_PLAN_PIXELS:
                raise ValidationFailed({"plan": N_("The plan image has too many pixels.")})
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise ValidationFailed({"plan": N_("The plan must be a PNG, JPEG or WebP image.")}) from exc
    if kind not in PLAN_TYPES:
        raise ValidationFailed({"plan": N_("The plan must be a PNG, JPEG or WebP image.")})
    return raw, PLAN_TYPES[kind], width, height


@audited("warranty.apartment_plan")
def set_plan(apartment: Apartment, upload: Any, actor: User | None = None) -> Apartment:
    """Store a floor-plan image (W1) for the apartment, replacing the old one."""
    permissions.require(actor, MANAGE)
    raw, content_type, width, height = read_plan(upload)
    blob = attachments.store().put(io.BytesIO(raw), allow_empty=False)
    with unit_of_work():
        apartment.plan_sha256 = blob.sha256
        apartment.plan_content_type = content_type
        apartment.plan_width = width
        apartment.plan_height = height
        db.session.flush()
    return apartment


@audited("warranty.apartment_plan_remove")
def remove_plan(apartment: Apartment, actor: User | None = None) -> Apartment:
    permissions.require(actor, MANAGE)
    with unit_of_work():
        apartment.plan_sha256 = None
        apartment.plan_content_type = None
        apartment.plan_width = apartment.plan_height = None
        db.session.flush()
    return apartment


def can_view_plan(viewer: User | None, apartment: Apartment) -> bool:
    """Agents who see tickets may see every plan; a buyer only their own apartments'."""
    if viewer is None:
        return True
    if viewer.is_customer:
        return viewer.customer_id is not None and db.session.scalar(
            select(Ownership.id).where(Ownership.apartment_id == apartment.id,
                                       Ownership.customer_id == viewer.customer_id)) is not None
    return permissions.has(viewer, "tickets.view") or permissions.has(viewer, MANAGE)


def open_plan(apartment: Apartment):
    return attachments.store().open(apartment.plan_sha256)


# -- owners ---------------------------------------------------------------------------


@audited("warranty.owner_add")
def add_owner(apartment: Apartment, customer_id: Any, actor: User | None = None) -> Ownership:
    permissions.require(actor, MANAGE)
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        raise ValidationFailed({"customer_id": "Not a valid integer."})
    customer = get_by_id(Customer, customer_id)
    if customer is None:
        raise ValidationFailed({"customer_id": N_("No such customer.")})
    found = db.session.scalar(select(Ownership).where(Ownership.apartment_id == apartment.id,
                                                      Ownership.customer_id == customer.id))
    if found is not None:
        return found
    with unit_of_work():
        ownership = Ownership(apartment_id=apartment.id, customer_id=customer.id)
        db.session.add(ownership)
        db.session.flush()
    return ownership


@audited("warranty.owner_remove")
def remove_owner(apartment: Apartment, customer_id: int, actor: User | None = None) -> None:
    permissions.require(actor, MANAGE)
    found = db.session.scalar(select(Ownership).where(Ownership.apartment_id == apartment.id,
                                                      Ownership.customer_id == customer_id))
    if found is None:
        raise NotFound(N_("This customer does not own the apartment."))
    with unit_of_work():
        db.session.delete(found)
