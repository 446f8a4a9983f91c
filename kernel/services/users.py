"""Users (agents and customers' portal accounts) and roles (K10)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import permissions, runtime, signals
from kernel.db import db, get_by_id
from kernel.errors import ValidationFailed
from kernel.models import Customer, Role, User
from kernel.services.uow import after_commit, unit_of_work

MIN_PASSWORD = 8
KINDS = ("agent", "customer")


class UserSchema(Schema):
    email = fields.Email(required=True, error_messages={"required": "This field is required."})
    name = fields.String(validate=validate.Length(max=200), load_default="")
    password = fields.String(allow_none=True, load_default=None)
    kind = fields.String(validate=validate.OneOf(KINDS), load_default="agent")
    roles = fields.List(fields.String(), load_default=list)
    customer_id = fields.Integer(allow_none=True, load_default=None)
    locale = fields.String(validate=validate.OneOf(["ru", "en"]), load_default=None)
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
    return db.session.scalar(db.select(User).where(db.func.lower(User.email) == email.lower()))


def authenticate(email: str, password: str) -> User | None:
    user = by_email(email or "")
    if user is None or not user.is_active or not user.check_password(password or ""):
        return None
    return user
