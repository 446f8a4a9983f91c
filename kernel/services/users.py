"""Users (agents and customers' portal accounts) and roles (K10)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import permissions, runtime, signals
from kernel.db import db, get_by_id
from kernel.errors import ValidationFailed
from kernel.models import Customer, Role, User
from kernel.services import storable
from kernel.services.audit import audited
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
        # The new password's stamp already ends the other sessions; a new token
        # too, so going back to an old password does not bring them back.
        user.renew_session_token()


def end_sessions(user: User, actor: User | None = None) -> None:
    """End every session and remember-me cookie of ``user`` on every device:
    logging out, "sign out everywhere" (by the user or an admin). API tokens are
    not touched: they are revoked one by one (``kernel.services.tokens.revoke``)
    and stop with deactivation."""
    if actor is not None and actor.id != user.id:
        permissions.require(actor, "admin.users")
        _end_sessions_audited(user, actor=actor)
        return
    with unit_of_work():
        user.renew_session_token()


@audited("users.end_sessions")
def _end_sessions_audited(user: User, actor: User | None = None) -> None:
    with unit_of_work():
        user.renew_session_token()


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


@audited("users.set_active")
def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (or reactivate) an account: a deactivated user cannot log in,
    every session of theirs ends, and their API tokens stop working."""
    permissions.require(actor, "admin.users")
    if actor is not None and actor.id == user.id and not active:
        raise ValidationFailed({"is_active": "You cannot deactivate yourself."})
    with unit_of_work():
        if user.is_active and not active:
            user.renew_session_token()  # a later reactivation brings no old session back
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


# -- staff and roles, from the admin screens (K10) -------------------------------

ROLE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _roles_by_key(keys: Any) -> tuple[list[Role], str | None]:
    if not isinstance(keys, list | tuple):
        return [], "Not a valid list."
    found = []
    for key in keys:
        role = db.session.scalar(db.select(Role).where(Role.key == key)) if storable(
            key, 64) else None
        if role is None:
            return [], f"Unknown role {key!r}."
        found.append(role)
    return found, None


def _grants(roles: list[Role], permission: str) -> bool:
    return any(role.grants(permission) for role in roles)


@audited("users.update_agent")
def update_agent(user: User, data: dict[str, Any], actor: User | None = None) -> dict:
    """Change an agent's ``name`` and ``roles`` (role keys). An admin cannot take
    away their own right to manage users. Returns ``{key: [old, new]}``."""
    permissions.require(actor, "admin.users")
    if not user.is_agent:
        raise ValidationFailed({"roles": "Customers have no roles."})
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key == "name":
            text = value.strip() if isinstance(value, str) else None
            if text is None or len(text) > 200:
                errors[key] = "At most 200 characters."
            else:
                clean[key] = text
        elif key == "roles":
            roles, problem = _roles_by_key(value)
            if problem:
                errors[key] = problem
            elif actor is not None and actor.id == user.id and not _grants(roles, "admin.users"):
                errors[key] = "You cannot take away your own right to manage users."
            else:
                clean[key] = roles
        else:
            errors[key] = "Cannot be changed here."
    if errors:
        raise ValidationFailed(errors)
    changes: dict[str, list] = {}
    if "name" in clean and clean["name"] != user.name:
        changes["name"] = [user.name, clean["name"]]
    if "roles" in clean and {r.id for r in clean["roles"]} != {r.id for r in user.roles}:
        changes["roles"] = [sorted(r.key for r in user.roles),
                            sorted(r.key for r in clean["roles"])]
    if changes:
        with unit_of_work():
            if "name" in changes:
                user.name = clean["name"]
            if "roles" in changes:
                user.roles = clean["roles"]
    return changes


@audited("users.save_role")
def save_role(key: str, name: str, granted: list[str], actor: User | None = None,
              create: bool = False) -> Role:
    """Create (``create=True``) or change a role: its name and the permission keys
    it grants (each declared by the kernel or an enabled plugin). A role granting
    everything (``*``) keeps it. An admin cannot take away their own right to
    manage users."""
    permissions.require(actor, "admin.users")
    registry = runtime.host().registry
    errors: dict[str, str] = {}
    row = db.session.scalar(db.select(Role).where(Role.key == key)) if storable(key, 64) else None
    if create:
        if not isinstance(key, str) or not ROLE_KEY_RE.match(key):
            errors["key"] = ("Use 1-64 lower-case letters, digits and underscores, "
                             "starting with a letter.")
        elif row is not None:
            errors["key"] = f"Role {key!r} already exists."
    elif row is None:
        from kernel.errors import NotFound

        raise NotFound(f"Unknown role {key!r}.")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        errors["name"] = "Give a name of 1 to 200 characters."
    if not isinstance(granted, list | tuple):
        errors["permissions"] = "Not a valid list."
        granted = []
    unknown = [p for p in granted if p not in registry.permissions and p != "*"]
    if unknown:
        errors["permissions"] = f"Unknown permission {unknown[0]!r}."
    new = sorted(set(granted))
    if row is not None and "*" in row.permissions and "*" not in new:
        new = ["*", *new]  # the administrator role grants everything, even future permissions
    if not create and row is not None and actor is not None and row in actor.roles:
        others = [r for r in actor.roles if r.id != row.id]
        if not _grants(others, "admin.users") and "*" not in new and "admin.users" not in new:
            errors["permissions"] = "You cannot take away your own right to manage users."
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        if row is None:
            row = Role(key=key, name=name.strip(), permissions=new, is_system=False)
            db.session.add(row)
        else:
            row.name, row.permissions = name.strip(), new
    return row


def agents(active: bool | None = None) -> list[User]:
    query = db.select(User).where(User.kind == "agent").order_by(User.name, User.email)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return list(db.session.scalars(query))


# -- a person's own table columns ------------------------------------------------------

MAX_COLUMNS = 40


def _columns_key(user: User) -> str:
    return f"users.{user.id}.table_columns"


def table_columns(user: User) -> list[str] | None:
    """The field keys ``user`` chose for the agents' table, in their order; None
    when they never chose (the table shows the fields' defaults)."""
    from kernel.models import Setting

    row = db.session.get(Setting, _columns_key(user))
    return list(row.value) if row is not None and isinstance(row.value, list) else None


def set_table_columns(user: User, keys: list[str] | None, actor: User | None = None) -> None:
    """Save the columns (field keys, in order) ``user`` sees in the agents' table;
    None or [] goes back to the defaults. Only the person (or ``admin.users``)."""
    from kernel.models import Setting

    if actor is not None and actor.id != user.id:
        permissions.require(actor, "admin.users")
    clean = list(dict.fromkeys(str(k) for k in (keys or []) if storable(k, 64)))
    if len(clean) > MAX_COLUMNS:
        raise ValidationFailed({"columns": f"At most {MAX_COLUMNS} columns."})
    with unit_of_work():
        row = db.session.get(Setting, _columns_key(user))
        if not clean:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(Setting(key=_columns_key(user), value=clean))
        else:
            row.value = clean
