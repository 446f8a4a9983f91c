"""Users (agents and customers' portal accounts) and roles (K10)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import permissions, runtime, signals
from kernel.db import db, get_by_id
from kernel.errors import ValidationFailed
from kernel.models import Customer, Role, User
from kernel.services import storable
from kernel.services.uow import after_commit, unit_of_work

MIN_PASSWORD = 8
KINDS = ("agent", "customer")
LOCALES = ("ru", "en")
PAGE_SIZES = (10, 20, 50, 100)


@functools.cache
def timezones() -> frozenset[str]:
    """Every IANA time zone name a user may choose (``Europe/Moscow``...)."""
    return frozenset(zoneinfo.available_timezones())


class UserSchema(Schema):
    email = fields.Email(required=True, error_messages={"required": "This field is required."})
    name = fields.String(validate=validate.Length(max=200), load_default="")
    password = fields.String(allow_none=True, load_default=None)
    kind = fields.String(validate=validate.OneOf(KINDS), load_default="agent")
    roles = fields.List(fields.String(), load_default=list)
    customer_id = fields.Integer(allow_none=True, load_default=None)
    locale = fields.String(validate=validate.OneOf(LOCALES), load_default=None)
    timezone = fields.String(load_default=None)


def create(data: dict[str, Any], actor: User | None = None) -> User:
    """Create an agent (with role keys) or a customer account (linked to a customer;
    one is created from the name when none is given)."""
    permissions.require(actor, "admin.users")
    try:
        loaded = UserSchema().load(data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    email = loaded["email"].strip().lower()
    errors: dict[str, str] = {}
    if db.session.scalar(db.select(User).where(db.func.lower(User.email) == email)):
        errors["email"] = f"A user with e-mail {email} already exists."
    password = loaded["password"]
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = f"At least {MIN_PASSWORD} characters."
    roles = []
    for key in loaded["roles"]:
        role = db.session.scalar(db.select(Role).where(Role.key == key))
        if role is None:
            errors["roles"] = f"Unknown role {key!r}."
        roles.append(role)
    if loaded["kind"] == "customer" and roles:
        errors["roles"] = "Customers have no roles."
    if loaded["timezone"] is not None and loaded["timezone"] not in timezones():
        errors["timezone"] = "Unknown time zone."
    customer = None
    if loaded["customer_id"] is not None:
        customer = get_by_id(Customer, loaded["customer_id"])
        if customer is None:
            errors["customer_id"] = "Customer not found."
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        if loaded["kind"] == "customer" and customer is None:
            from kernel.models import CustomerEmail

            customer = Customer(name=loaded["name"] or email, emails=[CustomerEmail(email=email)])
            db.session.add(customer)
        user = User(
            email=email,
            name=loaded["name"],
            kind=loaded["kind"],
            roles=roles,
            customer=customer,
            locale=loaded["locale"] or runtime.config("HOOKDESK_DEFAULT_LOCALE", "ru"),
            timezone=loaded["timezone"] or runtime.config("HOOKDESK_DEFAULT_TIMEZONE",
                                                          "Europe/Moscow"),
        )
        if password:
            user.set_password(password)
        db.session.add(user)
        db.session.flush()
        after_commit(signals.user_created, "kernel.users", user=user, password_set=bool(password))
    return user


def set_password(user: User, password: str, actor: User | None = None) -> None:
    if actor is not None and actor.id != user.id:
        permissions.require(actor, "admin.users")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed({"password": f"At least {MIN_PASSWORD} characters."})
    with unit_of_work():
        user.set_password(password)


def by_email(email: str) -> User | None:
    if not storable(email, 254):
        return None
    return db.session.scalar(db.select(User).where(db.func.lower(User.email) == email.lower()))


def authenticate(email: str, password: str) -> User | None:
    user = by_email(email or "")
    if user is None or not user.is_active or not user.check_password(password or ""):
        return None
    return user


def update_preferences(user: User, data: dict[str, Any], actor: User | None = None) -> dict:
    """Change what a person chose for themselves (P2): ``name``, ``locale``
    (``ru``/``en``), ``timezone`` (an IANA name), ``page_size`` (10, 20, 50, 100).

    Only the keys given change. Returns ``{key: [old, new]}`` of real changes;
    raises ``ValidationFailed`` naming each bad key (nothing is written then)."""
    if actor is not None and actor.id != user.id:
        permissions.require(actor, "admin.users")
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key == "name":
            text = value.strip() if isinstance(value, str) else None
            if text is None or len(text) > 200:
                errors[key] = "At most 200 characters."
            else:
                clean[key] = text
        elif key == "locale":
            if value not in LOCALES:
                errors[key] = f"Choose one of: {', '.join(LOCALES)}."
            else:
                clean[key] = value
        elif key == "timezone":
            if not isinstance(value, str) or value not in timezones():
                errors[key] = "Unknown time zone."
            else:
                clean[key] = value
        elif key == "page_size":
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = None
            if isinstance(value, bool) or number not in PAGE_SIZES:
                errors[key] = f"Choose one of: {', '.join(str(n) for n in PAGE_SIZES)}."
            else:
                clean[key] = number
        else:
            errors[key] = "Unknown preference."
    if errors:
        raise ValidationFailed(errors)
    changes = {k: [getattr(user, k), v] for k, v in clean.items() if getattr(user, k) != v}
    if changes:
        with unit_of_work():
            for key, (_old, new) in changes.items():
                setattr(user, key, new)
    return changes


def change_password(user: User, current: str, new: str) -> None:
    """A person changes their own password, proving they know the current one."""
    if not user.check_password(current if isinstance(current, str) else ""):
        raise ValidationFailed({"current_password": "The current password is wrong."})
    set_password(user, new, actor=user)


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (or reactivate) an account: a deactivated user cannot log in,
    and their API tokens stop working."""
    permissions.require(actor, "admin.users")
    if actor is not None and actor.id == user.id and not active:
        raise ValidationFailed({"is_active": "You cannot deactivate yourself."})
    with unit_of_work():
        user.is_active = bool(active)


class RegistrationSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         error_messages={"required": "This field is required."})
    email = fields.Email(required=True, error_messages={"required": "This field is required."})
    phone = fields.String(load_default=None, allow_none=True)
    locale = fields.String(validate=validate.OneOf(LOCALES), load_default=None)
    timezone = fields.String(load_default=None, allow_none=True)
    password = fields.String(load_default=None, allow_none=True)


def register_customer(data: dict[str, Any]) -> tuple[User, bool]:
    """A person signs up for the customer portal (P1).

    Creates the customer (name, e-mail, phone) and its portal account in one
    transaction, or links the account to the one existing customer that already
    has this e-mail. Without ``password`` the account has none until the person
    sets it through an e-mailed link. Returns ``(user, True)``; when the e-mail
    already has an account nothing changes and ``(that user, False)`` comes back,
    so the caller can answer the same either way (no account enumeration)."""
    try:
        loaded = RegistrationSchema().load(
            {k: (v.strip() if isinstance(v, str) and k != "password" else v)
             for k, v in (data or {}).items()}
        )
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    email = loaded["email"].strip().lower()
    existing = by_email(email)
    if existing is not None:
        return existing, False
    from kernel.models import CustomerEmail
    from kernel.services import customers

    phones = customers.normalize_phones([loaded["phone"]] if loaded["phone"] else [])
    if loaded["timezone"] and loaded["timezone"] not in timezones():
        raise ValidationFailed({"timezone": "Unknown time zone."})
    owners = set(db.session.scalars(
        db.select(CustomerEmail.customer_id).where(db.func.lower(CustomerEmail.email) == email)))
    with unit_of_work():
        if len(owners) == 1:
            customer = db.session.get(Customer, owners.pop())
        else:
            customer = customers.create(
                {"name": loaded["name"], "emails": [email], "phones": [raw for _n, raw in phones]}
            )
        user = create({
            "email": email, "name": loaded["name"], "kind": "customer",
            "customer_id": customer.id, "password": loaded["password"],
            "locale": loaded["locale"], "timezone": loaded["timezone"] or None,
        })
    return user, True
