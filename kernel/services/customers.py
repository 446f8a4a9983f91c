"""Customers with several normalized phones and emails (K9, A2, A3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import permissions, phones, runtime, signals
from kernel.db import db, get_by_id
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Customer, CustomerEmail, CustomerPhone, Ticket, User
from kernel.services.uow import after_commit, unit_of_work


class CustomerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         error_messages={"required": "This field is required."})
    contract_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    note = fields.String(validate=validate.Length(max=2000))
    phones = fields.List(fields.String(), load_default=list)
    emails = fields.List(fields.Email(), load_default=list)


def _load(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The cleaned data; every problem at once (a bad e-mail and a bad phone are
    both reported), or ``ValidationFailed``."""
    errors: dict[str, Any] = {}
    try:
        loaded = CustomerSchema(partial=partial).load(data)
    except ValidationError as exc:
        errors.update(exc.messages)
        loaded = dict(exc.valid_data or {})
        if isinstance(data.get("phones"), list) and "phones" not in errors:
            loaded["phones"] = data["phones"]
    if "name" in loaded:
        loaded["name"] = loaded["name"].strip()
        if not loaded["name"]:
            errors["name"] = "This field is required."
    if "phones" in loaded:
        try:
            loaded["phones"] = normalize_phones(loaded["phones"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "emails" in loaded:
        loaded["emails"] = list(dict.fromkeys(e.strip().lower() for e in loaded["emails"]))
    if errors:
        raise ValidationFailed(errors)
    return loaded


def normalize_phones(raw: Iterable[str]) -> list[tuple[str, str]]:
    """``[(e164, as_typed), ...]`` without repeats; errors name the position."""
    region = runtime.config("HOOKDESK_DEFAULT_REGION", "RU")
    result: dict[str, str] = {}
    errors: dict[str, str] = {}
    for index, item in enumerate(raw):
        if not str(item).strip():
            continue
        try:
            result.setdefault(phones.normalize(str(item), region), str(item).strip())
        except phones.InvalidPhone as exc:
            errors[f"phones.{index}"] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return list(result.items())


def create(data: dict[str, Any], actor: User | None = None) -> Customer:
    permissions.require(actor, "customers.edit")
    loaded = _load(data, partial=False)
    with unit_of_work():
        customer = Customer(
            name=loaded["name"],
            contract_number=(loaded.get("contract_number") or None),
            note=loaded.get("note", ""),
        )
        customer.phones = [CustomerPhone(number=n, raw=r) for n, r in loaded["phones"]]
        customer.emails = [CustomerEmail(email=e) for e in loaded["emails"]]
        db.session.add(customer)
        db.session.flush()
        after_commit(signals.customer_created, "kernel.customers", customer=customer, actor=actor)
    return customer


def update(customer: Customer, data: dict[str, Any], actor: User | None = None) -> dict:
    permissions.require(actor, "customers.edit")
    loaded = _load(data, partial=True)
    changes: dict[str, list[Any]] = {}
    with unit_of_work():
        for key in ("name", "contract_number", "note"):
            if key in loaded and getattr(customer, key) != loaded[key]:
                changes[key] = [getattr(customer, key), loaded[key]]
                setattr(customer, key, loaded[key])
        if "phones" in loaded:
            old = [p.number for p in customer.phones]
            new = [n for n, _ in loaded["phones"]]
            if old != new:
                customer.phones = [CustomerPhone(number=n, raw=r) for n, r in loaded["phones"]]
                changes["phones"] = [old, new]
        if "emails" in loaded:
            old = [e.email for e in customer.emails]
            if old != loaded["emails"]:
                customer.emails = [CustomerEmail(email=e) for e in loaded["emails"]]
                changes["emails"] = [old, loaded["emails"]]
        db.session.flush()
        if changes:
            after_commit(signals.customer_updated, "kernel.customers", customer=customer,
                         actor=actor, changes=changes)
    return changes


def get(customer_id: int, viewer: User | None = None) -> Customer:
    """A customer for a viewer with "can see customers" (or the customer's own account)."""
    customer = get_by_id(Customer, customer_id)
    if customer is None:
        raise NotFound("Customer not found.")
    if viewer is not None and viewer.is_customer:
        if viewer.customer_id != customer.id:
            raise NotFound("Customer not found.")
        return customer
    permissions.require(viewer, "customers.view")
    return customer


def search(viewer: User | None, text: str | None = None, page: int = 1,
           per_page: int = 20) -> tuple[list[Customer], int]:
    """A page of customers (by id) whose name, e-mail or contract number contains
    ``text``, and how many match — for viewers with "can see customers" (A3)."""
    permissions.require(viewer, "customers.view")
    query = db.select(Customer)
    if text and text.strip():
        term = f"%{text.strip().lower()}%"
        query = query.outerjoin(CustomerEmail).where(db.or_(
            db.func.lower(Customer.name).like(term),
            db.func.lower(CustomerEmail.email).like(term),
            db.func.lower(Customer.contract_number).like(term),
        )).distinct()
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    items = list(db.session.scalars(
        query.order_by(Customer.id).limit(per_page).offset((page - 1) * per_page)))
    return items, total


def find_by_phone(raw: str, viewer: User | None = None) -> list[Customer]:
    """Customers with exactly this phone (after normalization), for A2's offer to link."""
    permissions.require(viewer, "customers.view")
    try:
        number = phones.normalize(raw, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
    except phones.InvalidPhone as exc:
        raise ValidationFailed({"phone": str(exc)}) from exc
    return list(
        db.session.scalars(
            db.select(Customer)
            .join(CustomerPhone)
            .where(CustomerPhone.number == number)
            .order_by(Customer.id)
            .distinct()
        )
    )


def find_by_email(raw: str, viewer: User | None = None) -> list[Customer]:
    """Customers with exactly this e-mail (case does not matter): one of their own
    addresses, or the login of their portal account."""
    permissions.require(viewer, "customers.view")
    email = (raw or "").strip().lower()
    if not email or len(email) > 254:
        return []
    ids = set(db.session.scalars(
        db.select(CustomerEmail.customer_id).where(db.func.lower(CustomerEmail.email) == email)))
    ids |= {i for i in db.session.scalars(
        db.select(User.customer_id).where(User.kind == "customer",
                                          db.func.lower(User.email) == email)) if i is not None}
    if not ids:
        return []
    return list(db.session.scalars(
        db.select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)))


def open_tickets(customer: Customer) -> list[Ticket]:
    from kernel.models import Status

    return list(
        db.session.scalars(
            db.select(Ticket)
            .join(Status, Ticket.status_id == Status.id)
            .where(Ticket.customer_id == customer.id, Status.group == "open")
            .order_by(Ticket.id)
        )
    )
