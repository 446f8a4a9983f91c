"""The telephony plugin's settings: which adapter is in use, its connection
values (secrets included), what incoming calls do, and agents' extensions.

Everything is kept in the plugin's own tables and changed only here, by admins
(``admin.settings``), with a line in the kernel's change log (secrets masked).
"""

from __future__ import annotations

import secrets as secrets_lib
from typing import Any
from urllib.parse import urlparse

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import TicketType, User
from kernel.services import audit
from kernel.services.uow import unit_of_work
from plugins.telephony.models import Extension, ProviderConfig

PROVIDERS = ("generic", "zadarma", "asterisk")
SECRET_KEYS = frozenset({"secret", "api_secret"})

# Every value a section holds, with its default.
DEFAULTS: dict[str, dict[str, Any]] = {
    "main": {"provider": "", "auto_ticket_type": "", "popup_ticket_type": "",
             "signature_window": 300},
    "generic": {"secret": "", "callback_url": ""},
    "zadarma": {"api_key": "", "api_secret": "", "api_url": "https://api.zadarma.com",
                "timezone": "Europe/Moscow"},
    "asterisk": {"host": "127.0.0.1", "port": 5038, "username": "", "secret": "",
                 "channel": "PJSIP/{extension}", "context": "from-internal",
                 "internal_digits": 5},
}


def values(kind: str) -> dict[str, Any]:
    """The section's values: stored ones over the defaults."""
    row = db.session.get(ProviderConfig, kind)
    return {**DEFAULTS[kind], **((row.values or {}) if row else {})}


def provider() -> str:
    """The adapter in use, or "" when telephony is not configured."""
    chosen = values("main")["provider"]
    return chosen if chosen in PROVIDERS and is_complete(chosen) else ""


def is_complete(kind: str) -> bool:
    """Whether the adapter has what it needs to place calls (T3: no icons otherwise)."""
    given = values(kind)
    needed = {"generic": ("secret", "callback_url"), "zadarma": ("api_key", "api_secret"),
              "asterisk": ("host", "username", "secret", "channel")}[kind]
    return all(str(given.get(key) or "").strip() for key in needed)


def _url(value: str, field: str, errors: dict[str, str]) -> str:
    value = (value or "").strip()
    if value:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > 2000:
            errors[field] = N_("An http:// or https:// address is required.")
    return value


def _int(value: Any, field: str, low: int, high: int, message: str,
         errors: dict[str, str]) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[field] = message
        return None
    return number


def _zone(value: str, field: str, errors: dict[str, str]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = (value or "").strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors[field] = N_("Unknown time zone, e.g. Europe/Moscow.")
    return value


def _type_key(value: str, field: str, errors: dict[str, str]) -> str:
    value = (value or "").strip()
    if value and db.session.scalar(db.select(TicketType.id).where(
            TicketType.key == value, TicketType.is_active.is_(True))) is None:
        errors[field] = N_("No active ticket type has this key.")
    return value


def _check(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """Validated values of one section; secrets left empty keep the stored ones."""
    if kind not in DEFAULTS:
        raise ValidationFailed({"kind": N_("Unknown setting.")})
    unknown = sorted(set(given) - set(DEFAULTS[kind]))
    if unknown:
        raise ValidationFailed({key: N_("Unknown setting.") for key in unknown})
    current = values(kind)
    errors: dict[str, str] = {}
    result = dict(current)
    for key, raw in given.items():
        text = raw.strip() if isinstance(raw, str) else raw
        if key in SECRET_KEYS and not text:
            continue  # an empty secret field means "keep it"
        if key == "provider":
            if text and text not in PROVIDERS:
                errors[key] = N_("Choose generic, zadarma or asterisk.")
            result[key] = text or ""
        elif key in ("auto_ticket_type", "popup_ticket_type"):
            result[key] = _type_key(text, key, errors)
        elif key == "signature_window":
            result[key] = _int(text, key, 30, 3600, N_("Seconds between 30 and 3600."), errors)
        elif key == "port":
            result[key] = _int(text, key, 1, 65535, N_("A port between 1 and 65535."), errors)
        elif key == "internal_digits":
            result[key] = _int(text, key, 2, 10, N_("A number between 2 and 10."), errors)
        elif key in ("callback_url", "api_url"):
            result[key] = _url(text, key, errors)
        elif key == "timezone":
            result[key] = _zone(text, key, errors)
        elif key == "channel":
            if text and "{extension}" not in text:
                errors[key] = N_("Must contain {extension}, e.g. PJSIP/{extension}.")
            result[key] = text or ""
        else:
            if len(str(text or "")) > 200:
                errors[key] = N_("At most 200 characters.")
            result[key] = str(text or "")
    if kind == "zadarma" and not result["api_url"]:
        errors["api_url"] = N_("This field is required.")
    if errors:
        raise ValidationFailed(errors)
    return result


def save(kind: str, given: dict[str, Any], actor: User | None = None) -> dict[str, Any]:
    """Change some values of a section; returns the section's values."""
    permissions.require(actor, "admin.settings")
    result = _check(kind, dict(given))
    if kind == "generic" and not result["secret"]:
        result["secret"] = secrets_lib.token_hex(24)
    with unit_of_work():
        _store(kind, result)
        shown = {k: ("***" if k in SECRET_KEYS and v else v) for k, v in given.items()}
        audit.record("telephony.settings", kind, shown, actor)
    return result


def new_webhook_secret(actor: User | None = None) -> str:
    """Replace the generic webhook's signing key (the old one stops working)."""
    permissions.require(actor, "admin.settings")
    result = {**values("generic"), "secret": secrets_lib.token_hex(24)}
    with unit_of_work():
        _store("generic", result)
        audit.record("telephony.new_secret", "generic", {}, actor)
    return result["secret"]


def _store(kind: str, result: dict[str, Any]) -> None:
    row = db.session.get(ProviderConfig, kind)
    if row is None:
        db.session.add(ProviderConfig(kind=kind, values=result, updated_at=utcnow()))
    else:
        row.values, row.updated_at = result, utcnow()


# -- extensions ----------------------------------------------------------------------


def extension_of(user: User | None) -> str:
    if user is None:
        return ""
    row = db.session.get(Extension, user.id)
    return row.extension if row else ""


def agent_by_extension(extension: str) -> User | None:
    if not extension:
        return None
    row = db.session.scalar(db.select(Extension).where(Extension.extension == extension))
    return row.user if row else None


def extensions() -> list[Extension]:
    return list(db.session.scalars(db.select(Extension).order_by(Extension.extension)))


def set_extension(user_id: int, extension: str, actor: User | None = None) -> None:
    """Give an agent an internal number ("" takes it away)."""
    permissions.require(actor, "admin.settings")
    user = get_by_id(User, user_id)
    if user is None or not user.is_agent:
        raise ValidationFailed({"user": N_("Choose an agent.")})
    extension = (extension or "").strip()
    if extension and (len(extension) > 40 or not extension.replace("*", "").isalnum()):
        raise ValidationFailed({"extension": N_("Digits or letters only, at most 40.")})
    taken = agent_by_extension(extension) if extension else None
    if taken is not None and taken.id != user.id:
        raise ValidationFailed({"extension": N_("This extension belongs to another agent.")})
    with unit_of_work():
        row = db.session.get(Extension, user.id)
        if not extension:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(Extension(user_id=user.id, extension=extension))
        else:
            row.extension = extension
        audit.record("telephony.extension", user.email, {"extension": extension}, actor)
