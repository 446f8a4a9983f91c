"""``/api/v1/warranty``: houses, apartments with their plans and owners, a buyer's
own apartments, and the defects of a claim.

Who sees what, the same as on the pages:

* agents who see tickets (or manage the warranty) read every house and apartment;
  the apartments' owners (customers, A3) only with "can see customers"
  (``customers.view``) or ``warranty.manage``; changing them needs "manage houses, apartments
  and buyers" (``warranty.manage``);
* a buyer's token reads only the apartments the buyer owns and the houses they
  are in — anything else is "not found", so its existence does not leak — and
  ``GET /my/apartments`` says which of them may still get claims;
* defects are read and added on claims the token may see (another customer's
  claim is 404); moving a defect to another status needs "work defects".

Claims themselves are kernel tickets: ``POST /api/v1/tickets`` with
``{"type": "claim", "values": {"apartment": ..., "claim_category": ...}}``, or
``POST /api/v1/warranty/claims`` with the values and the defects at once.
Every change goes through ``plugins.warranty.property`` and
``plugins.warranty.defects``, which validate it and write the audit trail."""

from __future__ import annotations

from typing import Any

from flask import send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kernel import permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import Customer, Ticket, User
from kernel.services import tickets
from kernel.services.uow import unit_of_work
from plugins.warranty import CLAIM_TYPE, defects
from plugins.warranty import property as prop
from plugins.warranty.models import (
    DEFECT_STATUSES,
    Apartment,
    Defect,
    House,
)
from web.api import serialize
from web.api.auth import current_user, require_token
from web.api.schemas import TicketOut

blp = Blueprint("api_warranty", __name__, url_prefix="/warranty",
                description="Warranty: houses, apartments with floor plans and owners, a "
                            "buyer's apartments, defects of claims. Claims themselves are "
                            "tickets of type 'claim' (POST /tickets).")

READ = "tickets.view"
MAX_ID = 2**31 - 1


# -- schemas --------------------------------------------------------------------------


class HouseIn(prop.HouseSchema):
    """A new house (the service's own schema: one set of rules for every caller)."""


class HousePatch(prop.HouseSchema):
    """Only the fields sent change (no defaults: a missing field is left alone)."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    address = fields.String(validate=validate.Length(max=500))
    warranty_until = fields.Date()


class HouseOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    warranty_until = fields.Date(required=True, metadata={
        "description": "The last day of the warranty (inclusive)."})
    warranty_active = fields.Boolean(required=True)
    apartments_count = fields.Integer(required=True)


class ApartmentIn(prop.ApartmentSchema):
    """A new apartment in an existing house."""


class ApartmentPatch(prop.ApartmentSchema):
    """Only the fields sent change (no defaults: a missing field is left alone)."""

    house_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID))
    number = fields.String(validate=validate.Length(min=1, max=20))
    floor = fields.Integer(allow_none=True, validate=validate.Range(min=-10, max=300))


class ApartmentQuery(Schema):
    house_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "Only the apartments of this house."})


class OwnerOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "The customer's id."})
    name = fields.String(required=True)


class OwnerIn(Schema):
    customer_id = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=MAX_ID))


class ApartmentOut(Schema):
    id = fields.Integer(required=True)
    house_id = fields.Integer(required=True)
    house = fields.String(required=True, metadata={"description": "The house's name."})
    number = fields.String(required=True)
    floor = fields.Integer(allow_none=True, required=True)
    has_plan = fields.Boolean(required=True)
    plan_width = fields.Integer(allow_none=True, required=True)
    plan_height = fields.Integer(allow_none=True, required=True)
    plan_url = fields.String(allow_none=True, required=True,
                             metadata={"description": "Where to download the plan image."})
    owners = fields.List(fields.Nested(OwnerOut), metadata={
        "description": "The buyers who own it; only for agents who may see customers "
                       "(or manage buyers)."})


class MyApartmentOut(ApartmentOut):
    warranty_until = fields.Date(required=True)
    warranty_active = fields.Boolean(required=True)
    claims_allowed = fields.Boolean(required=True, metadata={
        "description": "False when claims are restricted by warranty and it has ended."})


class PlanIn(Schema):
    plan = fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "A PNG, JPEG or WebP image of the floor plan."})


class PhotoIn(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "A photo of the defect."})


class DefectIn(defects.DefectSchema):
    """A defect: ``category`` from the defect category list, a description and an
    optional mark on the plan (``x``, ``y`` as fractions 0..1 of its width and height)."""


class DefectPatch(Schema):
    status = fields.String(required=True, validate=validate.OneOf(DEFECT_STATUSES))


class PhotoOut(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    url = fields.String(required=True)


class DefectOut(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True, metadata={"description": "Its number on the claim."})
    category = fields.String(required=True)
    description = fields.String(required=True)
    x = fields.Float(allow_none=True, required=True)
    y = fields.Float(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(DEFECT_STATUSES))
    photos = fields.List(fields.Nested(PhotoOut), required=True)


class DefectList(Schema):
    done = fields.Integer(required=True, metadata={"description": "Fixed or rejected."})
    total = fields.Integer(required=True)
    items = fields.List(fields.Nested(DefectOut), required=True)


class ClaimIn(Schema):
    values = fields.Dict(keys=fields.String(), load_default=dict,
                         metadata={"description": "The claim's field values, as for POST "
                                                  "/tickets: apartment, claim_category, "
                                                  "subject, ..."})
    defects = fields.List(fields.Nested(DefectIn), load_default=list,
                          validate=validate.Length(max=defects.MAX_DEFECTS))


class ClaimOut(Schema):
    ticket = fields.Nested(TicketOut, required=True)
    defects = fields.List(fields.Nested(DefectOut), required=True)


# -- who may see what -----------------------------------------------------------------


def _sees_all(user: User) -> bool:
    return not user.is_customer and (permissions.has(user, READ)
                                     or permissions.has(user, prop.MANAGE))


def _reader() -> User:
    """The token's user, if they may read houses and apartments at all: a buyer
    (their own), or an agent who sees tickets or manages the warranty."""
    user = current_user()
    if not user.is_customer and not _sees_all(user):
        raise PermissionDenied("You are not allowed to see houses and apartments.")
    return user


def _own_apartments(user: User) -> list[Apartment]:
    """A buyer's apartments; none for a customer account without a customer."""
    customer = db.session.get(Customer, user.customer_id) if user.customer_id else None
    return prop.apartments_of(customer) if customer is not None else []


def _house(house_id: int) -> House:
    user = _reader()
    house = prop.get_house(house_id)
    if user.is_customer and house.id not in {a.house_id for a in _own_apartments(user)}:
        raise NotFound("House not found.")
    return house


def _apartment(apartment_id: int) -> Apartment:
    user = _reader()
    apartment = prop.get_apartment(apartment_id)
    if user.is_customer and apartment.id not in {a.id for a in _own_apartments(user)}:
        raise NotFound("Apartment not found.")
    return apartment


# -- serialization --------------------------------------------------------------------


def _houses_out(found: list[House]) -> list[dict[str, Any]]:
    counts = prop.apartment_counts()
    today = prop.today()
    return [{"id": h.id, "name": h.name, "address": h.address or "",
             "warranty_until": h.warranty_until, "warranty_active": h.warranty_active(today),
             "apartments_count": counts.get(h.id, 0)} for h in found]


def _owners_of(apartment_ids: list[int], viewer: User) -> dict[int, list[dict[str, Any]]]:
    return {apartment_id: [{"id": c.id, "name": c.name} for c in found]
            for apartment_id, found in prop.owners_for(apartment_ids, viewer).items()}


def _apartments_out(found: list[Apartment], viewer: User) -> list[dict[str, Any]]:
    owners = (_owners_of([a.id for a in found], viewer) if prop.may_see_owners(viewer)
              else None)
    result = []
    for a in found:
        item = {
            "id": a.id, "house_id": a.house_id, "house": a.house.name, "number": a.number,
            "floor": a.floor, "has_plan": a.has_plan, "plan_width": a.plan_width,
            "plan_height": a.plan_height,
            "plan_url": url_for("api_warranty.ApartmentPlan", apartment_id=a.id)
            if a.has_plan else None,
        }
        if owners is not None:
            item["owners"] = owners[a.id]
        result.append(item)
    return result


def _apartment_out(apartment: Apartment, viewer: User) -> dict[str, Any]:
    return _apartments_out([apartment], viewer)[0]


def _defect_out(defect: Defect, viewer: User) -> dict[str, Any]:
    return {
        "id": defect.id, "position": defect.position, "category": defect.category,
        "description": defect.description, "x": defect.x, "y": defect.y,
        "status": defect.status,
        "photos": [{"id": a.id, "filename": a.filename,
                    "url": url_for("api_files.download", attachment_id=a.id)}
                   for a in defects.photos_of(defect, viewer)],
    }


# -- houses ---------------------------------------------------------------------------


@blp.route("/houses")
class Houses(MethodView):
    @blp.response(200, HouseOut(many=True))
    @require_token
    def get(self):
        """Houses by name; a buyer's token lists only the houses of their apartments."""
        user = _reader()
        if user.is_customer:
            mine = {a.house_id for a in _own_apartments(user)}
            return _houses_out([h for h in prop.houses() if h.id in mine])
        return _houses_out(prop.houses())

    @blp.arguments(HouseIn)
    @blp.response(201, HouseOut)
    @require_token
    def post(self, data):
        """Add a house with the last day of its warranty (needs ``warranty.manage``)."""
        return _houses_out([prop.create_house(data, actor=current_user())])[0]


@blp.route("/houses/<int:house_id>")
class HouseItem(MethodView):
    @blp.response(200, HouseOut)
    @require_token
    def get(self, house_id):
        return _houses_out([_house(house_id)])[0]

    @blp.arguments(HousePatch)
    @blp.response(200, HouseOut)
    @require_token
    def patch(self, data, house_id):
        """Change the name, address or warranty end of a house."""
        house = prop.update_house(_house(house_id), data, actor=current_user())
        return _houses_out([house])[0]

    @blp.response(204)
    @require_token
    def delete(self, house_id):
        """Delete a house without apartments (422 while it has some)."""
        prop.delete_house(_house(house_id), actor=current_user())


# -- apartments -----------------------------------------------------------------------


@blp.route("/apartments")
class Apartments(MethodView):
    @blp.arguments(ApartmentQuery, location="query")
    @blp.response(200, ApartmentOut(many=True))
    @require_token
    def get(self, args):
        """Apartments by house and number; a buyer's token lists only their own.
        Agents also get each apartment's owners."""
        user = _reader()
        house_id = args.get("house_id")
        if user.is_customer:
            found = [a for a in _own_apartments(user)
                     if house_id is None or a.house_id == house_id]
        elif house_id is not None:
            house = get_by_id(House, house_id)
            if house is None:
                raise ValidationFailed({"house_id": "No such house."})
            found = prop.apartments(house)
        else:
            found = prop.apartments()
        return _apartments_out(found, user)

    @blp.arguments(ApartmentIn)
    @blp.response(201, ApartmentOut)
    @require_token
    def post(self, data):
        """Add an apartment to a house (needs ``warranty.manage``)."""
        user = current_user()
        return _apartment_out(prop.create_apartment(data, actor=user), user)


@blp.route("/apartments/<int:apartment_id>")
class ApartmentItem(MethodView):
    @blp.response(200, ApartmentOut)
    @require_token
    def get(self, apartment_id):
        return _apartment_out(_apartment(apartment_id), current_user())

    @blp.arguments(ApartmentPatch)
    @blp.response(200, ApartmentOut)
    @require_token
    def patch(self, data, apartment_id):
        """Change the number, floor or house of an apartment."""
        user = current_user()
        apartment = prop.update_apartment(_apartment(apartment_id), data, actor=user)
        return _apartment_out(apartment, user)

    @blp.response(204)
    @require_token
    def delete(self, apartment_id):
        """Delete an apartment without claims (422 while claims name it)."""
        prop.delete_apartment(_apartment(apartment_id), actor=current_user())


@blp.route("/apartments/<int:apartment_id>/plan")
class ApartmentPlan(MethodView):
    @blp.response(200, description="The plan image (PNG, JPEG or WebP).")
    @require_token
    def get(self, apartment_id):
        """The floor plan: for agents, and for buyers who own the apartment (404 otherwise)."""
        apartment = get_by_id(Apartment, apartment_id)
        if apartment is None or not apartment.has_plan \
                or not prop.can_view_plan(current_user(), apartment):
            raise NotFound("Plan not found.")
        response = send_file(prop.open_plan(apartment), mimetype=apartment.plan_content_type,
                             etag=apartment.plan_sha256, max_age=0, conditional=True)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-cache"
        return response

    @blp.arguments(PlanIn, location="files")
    @blp.response(200, ApartmentOut)
    @require_token
    def put(self, files, apartment_id):
        """Upload the floor plan (multipart field ``plan``), replacing the old one.
        Defect marks are fractions of the image, so they stay where they were."""
        user = current_user()
        apartment = prop.set_plan(_apartment(apartment_id), files["plan"], actor=user)
        return _apartment_out(apartment, user)

    @blp.response(200, ApartmentOut)
    @require_token
    def delete(self, apartment_id):
        """Remove the floor plan."""
        user = current_user()
        return _apartment_out(prop.remove_plan(_apartment(apartment_id), actor=user), user)


@blp.route("/apartments/<int:apartment_id>/owners")
class ApartmentOwners(MethodView):
    @blp.response(200, OwnerOut(many=True))
    @require_token
    def get(self, apartment_id):
        """The buyers who own the apartment (agents who may see customers or manage
        buyers)."""
        apartment = _apartment(apartment_id)
        if current_user().is_customer:
            raise PermissionDenied("Only agents see the owners of an apartment.")
        return _owners_of([apartment.id], current_user())[apartment.id]

    @blp.arguments(OwnerIn)
    @blp.response(201, OwnerOut)
    @require_token
    def post(self, data, apartment_id):
        """Make a customer an owner (needs ``warranty.manage``); adding one twice is fine."""
        ownership = prop.add_owner(_apartment(apartment_id), data["customer_id"],
                                   actor=current_user())
        customer = db.session.get(Customer, ownership.customer_id)
        return {"id": customer.id, "name": customer.name}


@blp.route("/apartments/<int:apartment_id>/owners/<int:customer_id>")
class ApartmentOwner(MethodView):
    @blp.response(204)
    @require_token
    def delete(self, apartment_id, customer_id):
        """The customer no longer owns the apartment (needs ``warranty.manage``)."""
        apartment = _apartment(apartment_id)
        # An id past the column's range cannot be an owner; asking the database
        # with it would be a driver error instead of "not found".
        if get_by_id(Customer, customer_id) is None:
            raise NotFound("This customer does not own the apartment.")
        prop.remove_owner(apartment, customer_id, actor=current_user())


@blp.route("/my/apartments")
class MyApartments(MethodView):
    @blp.response(200, MyApartmentOut(many=True))
    @require_token
    def get(self):
        """A buyer's own apartments, whether their warranty is active and whether a
        claim may be filed for each (a buyer's token only)."""
        user = current_user()
        if not user.is_customer:
            raise PermissionDenied("Only buyers have apartments of their own; agents use "
                                   "GET /warranty/apartments.")
        found = _own_apartments(user)
        today, restricted = prop.today(), prop.restricted()
        result = _apartments_out(found, user)
        for item, apartment in zip(result, found, strict=True):
            active = apartment.house.warranty_active(today)
            item.update(warranty_until=apartment.house.warranty_until, warranty_active=active,
                        claims_allowed=active or not restricted)
        return result


# -- defects of a claim ---------------------------------------------------------------


def _claim(ref: str) -> Ticket:
    return tickets.get(ref, current_user())


@blp.route("/claims")
class Claims(MethodView):
    @blp.arguments(ClaimIn)
    @blp.response(201, ClaimOut)
    @require_token
    def post(self, data):
        """File a claim with its defects in one transaction: a refused defect
        (``defects.<n>.<field>``) or value (``values.<field>``) writes nothing."""
        user = current_user()
        with unit_of_work():
            try:
                ticket = tickets.create(data["values"], actor=user, type=CLAIM_TYPE)
            except ValidationFailed as exc:
                raise ValidationFailed({k if k in ("type", "_schema") else f"values.{k}": v
                                        for k, v in exc.errors.items()}) from exc
            found = [defects.add(ticket, item, actor=user, via="api",
                                 prefix=f"defects.{n}.")
                     for n, item in enumerate(data["defects"])]
        return {"ticket": serialize.ticket(ticket, user),
                "defects": [_defect_out(df, user) for df in found]}


@blp.route("/claims/<ref>/defects")
class ClaimDefects(MethodView):
    @blp.response(200, DefectList)
    @require_token
    def get(self, ref):
        """The defects of a claim (id or number) in order, with progress: ``done`` of
        ``total`` are fixed or rejected."""
        user = current_user()
        ticket = _claim(ref)
        done, total = defects.progress(ticket)
        return {"done": done, "total": total,
                "items": [_defect_out(df, user) for df in defects.for_ticket(ticket)]}

    @blp.arguments(DefectIn)
    @blp.response(201, DefectOut)
    @require_token
    def post(self, data, ref):
        """Add a defect: the buyer on their open claim, or an agent with "work defects".
        A mark (``x``, ``y``) needs the apartment to have a plan."""
        user = current_user()
        defect = defects.add(_claim(ref), data, actor=user, via="api")
        return _defect_out(defect, user)


@blp.route("/claims/<ref>/defects/<int:defect_id>")
class ClaimDefect(MethodView):
    @blp.arguments(DefectPatch)
    @blp.response(200, DefectOut)
    @require_token
    def patch(self, data, ref, defect_id):
        """Move a defect to another status (agents with "work defects")."""
        user = current_user()
        ticket = _claim(ref)
        defect = defects.set_status(ticket, defects.get(ticket, defect_id), data["status"],
                                    actor=user, via="api")
        return _defect_out(defect, user)


@blp.route("/claims/<ref>/defects/<int:defect_id>/photos")
class DefectPhotos(MethodView):
    @blp.arguments(PhotoIn, location="files")
    @blp.response(201, DefectOut)
    @require_token
    def post(self, files, ref, defect_id):
        """Add a photo to a defect (multipart field ``file``)."""
        user = current_user()
        ticket = _claim(ref)
        defect = defects.add_photo(ticket, defects.get(ticket, defect_id), files["file"], user)
        return _defect_out(defect, user)
