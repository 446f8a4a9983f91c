"""Work orders (заказ-наряды): created by agents or pushed by a dealer
management system (upsert by its ``external_id``, idempotent). An open work order
makes a customer's contact "Repair or order status"."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, User
from kernel.services import customers as customer_service
from kernel.services.audit import record as audit
from kernel.services.uow import unit_of_work
from plugins.autoservice import WORK_ORDERS
from plugins.autoservice.models import WORK_ORDER_STATUSES, WorkOrder

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
MAX_ID = 2**31 - 1
READ = "tickets.view"


class WorkOrderSchema(Schema):
    external_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    number = fields.String(validate=validate.Length(min=1, max=50))
    customer_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID))
    customer_phone = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "Instead of customer_id: the customer with exactly this phone."})
    car_make = fields.String(validate=validate.Length(max=100))
    car_model = fields.String(validate=validate.Length(max=100))
    plate = fields.String(validate=validate.Length(max=20))
    vin = fields.String(validate=validate.Length(max=17), metadata={
        "description": "17 characters, letters (no I, O, Q) and digits; may be empty."})
    description = fields.String(validate=validate.Length(max=5000))
    status = fields.String(validate=validate.OneOf(WORK_ORDER_STATUSES))
    opened_at = fields.AwareDateTime(default_timezone=UTC)
    closed_at = fields.AwareDateTime(default_timezone=UTC, allow_none=True)

    @validates_schema
    def _vin(self, data, **kwargs):
        vin = (data.get("vin") or "").strip().upper()
        if vin and not VIN_RE.match(vin):
            raise ValidationError(N_("A VIN is 17 letters and digits, without I, O and Q."),
                                  "vin")


def _load(data: Any, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed({"_schema": "Expected an object."})
    try:
        loaded = WorkOrderSchema(partial=partial).load(data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    for key in ("number", "car_make", "car_model", "plate", "description", "external_id"):
        if isinstance(loaded.get(key), str):
            loaded[key] = loaded[key].strip()
    if "vin" in loaded:
        loaded["vin"] = (loaded["vin"] or "").strip().upper()
    if "plate" in loaded:
        loaded["plate"] = loaded["plate"].upper()
    return loaded


def _customer(loaded: dict[str, Any]) -> Customer | None:
    if "customer_phone" in loaded:
        phone = loaded.pop("customer_phone")
        if "customer_id" not in loaded:
            found = customer_service.find_by_phone(phone)
            if len(found) != 1:
                raise ValidationFailed({"customer_phone": N_(
                    "No single customer has this phone.") if not found else N_(
                    "Several customers have this phone; give customer_id.")})
            return found[0]
    if "customer_id" in loaded:
        customer = get_by_id(Customer, loaded["customer_id"])
        if customer is None:
            raise ValidationFailed({"customer_id": N_("No customer with this id.")})
        return customer
    return None


def _apply(order: WorkOrder, loaded: dict[str, Any], customer: Customer | None) -> dict:
    changes: dict[str, list[Any]] = {}
    if customer is not None and order.customer_id != customer.id:
        changes["customer_id"] = [order.customer_id, customer.id]
        order.customer_id = customer.id
        order.customer = customer
    for key in ("external_id", "number", "car_make", "car_model", "plate", "vin",
                "description", "status", "opened_at", "closed_at"):
        if key not in loaded:
            continue
        old, new = getattr(order, key), loaded[key]
        if isinstance(old, datetime) and isinstance(new, datetime):
            same = old.astimezone(UTC) == new.astimezone(UTC) if old.tzinfo else \
                old == new.replace(tzinfo=None)
        else:
            same = old == new
        if not same:
            changes[key] = [old, new]
            setattr(order, key, new)
    if "status" in changes:
        if order.status == "closed" and "closed_at" not in loaded:
            order.closed_at = utcnow()
        elif order.status == "open":
            order.closed_at = None
    return changes


def _check_unique(order: WorkOrder | None, loaded: dict[str, Any]) -> None:
    number = loaded.get("number")
    if number:
        other = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        if other is not None and (order is None or other.id != order.id):
            raise ValidationFailed({"number": N_("Another work order has this number.")})


def create(data: Any, actor: User | None = None) -> WorkOrder:
    permissions.require(actor, WORK_ORDERS)
    loaded = _load(data, partial=False)
    errors = {}
    if not loaded.get("number"):
        errors["number"] = N_("Give the work order's number.")
    if "customer_id" not in loaded and "customer_phone" not in loaded:
        errors["customer_id"] = N_("Give the customer.")
    if errors:
        raise ValidationFailed(errors)
    customer = _customer(loaded)
    _check_unique(None, loaded)
    if loaded.get("external_id") and by_external_id(loaded["external_id"]) is not None:
        raise ValidationFailed({"external_id": N_("Another work order has this external id.")})
    with unit_of_work():
        now = utcnow()
        order = WorkOrder(customer_id=customer.id, customer=customer, status="open",
                          car_make="", car_model="", plate="", vin="", description="",
                          opened_at=now, created_at=now, updated_at=now)
        _apply(order, loaded, None)
        if order.status == "closed" and order.closed_at is None:
            order.closed_at = now
        db.session.add(order)
        db.session.flush()
        audit("autoservice.work_order_created", order.number, {"id": order.id}, actor)
    return order


def update(order: WorkOrder, data: Any, actor: User | None = None) -> dict:
    permissions.require(actor, WORK_ORDERS)
    loaded = _load(data, partial=True)
    customer = _customer(loaded)
    _check_unique(order, loaded)
    with unit_of_work():
        changes = _apply(order, loaded, customer)
        if changes:
            order.updated_at = utcnow()
            db.session.flush()
            audit("autoservice.work_order_updated", order.number,
                  {"changes": {k: [str(a), str(b)] for k, (a, b) in changes.items()}}, actor)
    return changes


def upsert(external_id: str, data: Any, actor: User | None = None) -> tuple[WorkOrder, bool]:
    """Create or update the work order the dealer system knows as ``external_id``.
    Sending the same data again changes nothing. Returns ``(order, created)``."""
    permissions.require(actor, WORK_ORDERS)
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 100:
        raise ValidationFailed({"external_id": N_("1 to 100 characters.")})
    if isinstance(data, dict) and data.get("external_id") not in (None, external_id):
        raise ValidationFailed({"external_id": N_("Differs from the one in the address.")})
    payload = {**(data if isinstance(data, dict) else {}), "external_id": external_id.strip()}
    if not isinstance(data, dict):
        raise ValidationFailed({"_schema": "Expected an object."})
    existing = by_external_id(external_id.strip())
    if existing is None:
        try:
            return create(payload, actor=actor), True
        except IntegrityError:
            # The same push arrived twice at once: the other one created it first.
            existing = by_external_id(external_id.strip())
            if existing is None:
                raise
    update(existing, payload, actor=actor)
    return existing, False


def by_external_id(external_id: str) -> WorkOrder | None:
    return db.session.scalar(select(WorkOrder).where(WorkOrder.external_id == external_id))


def get(order_id: int, viewer: User | None = None) -> WorkOrder:
    """A work order a viewer may see: agents who see tickets; a customer only their own."""
    order = get_by_id(WorkOrder, order_id)
    if order is None or not can_view(viewer, order):
        raise NotFound("Work order not found.")
    return order


def can_view(viewer: User | None, order: WorkOrder) -> bool:
    if viewer is None:
        return True
    if viewer.is_customer:
        return viewer.customer_id is not None and viewer.customer_id == order.customer_id
    return permissions.has(viewer, READ) or permissions.has(viewer, WORK_ORDERS)


def listing(viewer: User | None, customer_id: int | None = None, status: str | None = None,
            search: str = "", limit: int = 200) -> list[WorkOrder]:
    query = select(WorkOrder)
    if viewer is not None and viewer.is_customer:
        if viewer.customer_id is None:
            return []
        query = query.where(WorkOrder.customer_id == viewer.customer_id)
    elif viewer is not None and not (permissions.has(viewer, READ)
                                     or permissions.has(viewer, WORK_ORDERS)):
        return []
    if customer_id is not None:
        query = query.where(WorkOrder.customer_id == customer_id)
    if status in WORK_ORDER_STATUSES:
        query = query.where(WorkOrder.status == status)
    text = (search or "").strip()
    if text:
        like = f"%{text[:100]}%"
        query = query.where(WorkOrder.number.ilike(like) | WorkOrder.plate.ilike(like)
                            | WorkOrder.vin.ilike(like) | WorkOrder.car_make.ilike(like)
                            | WorkOrder.car_model.ilike(like))
    return list(db.session.scalars(query.order_by(WorkOrder.opened_at.desc(),
                                                  WorkOrder.id.desc()).limit(limit)))


def of_customer(customer_id: int | None) -> list[WorkOrder]:
    if customer_id is None:
        return []
    return list(db.session.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer_id)
                                   .order_by(WorkOrder.status.desc(), WorkOrder.opened_at.desc())))
