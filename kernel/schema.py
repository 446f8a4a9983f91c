"""marshmallow schemas built from field definitions.

The same builder serves the web forms, the API and the CLI, so a value is
accepted or refused for the same reason everywhere. ``load`` returns python
values (``datetime``, ``int``...); ``to_storage`` turns them into what the
ticket's JSON column keeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import phones, runtime
from kernel.fieldset import Field


class Number(fields.Field):
    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int | float):
            number = value
        else:
            try:
                text = str(value).strip().replace(",", ".").replace(" ", "")
                number = float(text) if any(c in text for c in ".eE") else int(text)
            except (TypeError, ValueError) as exc:
                raise self.make_error("invalid") from exc
        if isinstance(number, float):
            if not math.isfinite(number):
                raise self.make_error("invalid")
            if number.is_integer() and abs(number) < 2**53:
                number = int(number)
        return number


class Phone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return phones.normalize(text, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
        except phones.InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc


class Flag(fields.Boolean):
    truthy = fields.Boolean.truthy | {"on", "да"}
    falsy = fields.Boolean.falsy | {"off", "нет", ""}


class AwareDateTime(fields.AwareDateTime):
    """Accepts naive input as UTC and always returns UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            result = value if value.tzinfo else value.replace(tzinfo=UTC)
        else:
            result = super()._deserialize(value, attr, data, **kwargs)
        return result.astimezone(UTC)


class Id(fields.Integer):
    """An id, also given as a string or as ``{"id": n}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict) and "id" in value:
            value = value["id"]
        if isinstance(value, bool):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result is not None and result <= 0:
            raise self.make_error("invalid")
        return result


ChoiceResolver = Callable[[Field], list[tuple[str, str]] | None]
ReferenceResolver = Callable[[Field, int], bool]


def _choice_validator(allowed: list[tuple[str, str]]):
    values = [v for v, _ in allowed]

    def check(value):
        items = value if isinstance(value, list) else [value]
        bad = [str(v) for v in items if str(v) not in values]
        if bad:
            shown = ", ".join(values[:20]) + (" …" if len(values) > 20 else "")
            raise ValidationError(
                f"{', '.join(repr(b) for b in bad)} is not an allowed choice"
                + (f"; allowed: {shown}." if values else "; nothing is allowed here.")
            )

    return check


def marshmallow_field(
    field: Field,
    required: bool,
    choices: ChoiceResolver,
    references: ReferenceResolver,
    partial: bool = False,
) -> fields.Field:
    """``required``: the field may not be empty. ``partial`` (an update): it may be
    left out, but when it is given it still may not be emptied."""
    opts: dict[str, Any] = {"required": required and not partial, "allow_none": not required}
    if required:
        opts["error_messages"] = {"required": "This field is required.",
                                  "null": "This field is required."}
    kind = field.type
    validators: list[Any] = []
    if kind in ("text", "long_text"):
        if field.max_length:
            validators.append(validate.Length(max=field.max_length))
        if required:
            validators.append(validate.Length(min=1, error="This field is required."))
        return _Stripped(validate=validators, **opts)
    if kind == "number":
        return Number(**opts)
    if kind == "date":
        return fields.Date(**opts)
    if kind == "datetime":
        return AwareDateTime(default_timezone=UTC, **opts)
    if kind == "flag":
        opts["allow_none"] = False
        return Flag(**opts)
    if kind == "phone":
        return Phone(**opts)
    if kind == "email":
        return fields.Email(**opts)
    if kind in ("choice", "multi_choice"):
        allowed = choices(field) or []
        validators.append(_choice_validator(allowed))
        if kind == "choice":
            return fields.String(validate=validators, **opts)
        if required:
            validators.append(validate.Length(min=1, error="Choose at least one."))
        return fields.List(fields.String(), validate=validators, **opts)
    if kind in ("reference", "file"):
        allowed = choices(field) if kind == "reference" else None

        def check_ref(value, _field=field, _allowed=allowed):
            if _allowed is not None and str(value) not in {v for v, _ in _allowed}:
                raise ValidationError(f"#{value} is not an allowed choice here.")
            if not references(_field, value):
                raise ValidationError(f"#{value} does not exist.")

        return Id(validate=[check_ref], **opts)
    raise ValueError(f"unknown field type {kind!r}")  # pragma: no cover - registry checks types


class _Stripped(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        if value is not None and not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs).strip()


def build(
    form_fields: Iterable[Field],
    choices: ChoiceResolver,
    references: ReferenceResolver,
    partial: bool = False,
) -> Schema:
    """A schema for these fields. ``partial``: for updates, a field may be left out,
    but a required one that is given may not be emptied."""
    declared = {
        f.key: marshmallow_field(f, f.required, choices, references, partial=partial)
        for f in form_fields
    }
    return Schema.from_dict(declared, name="TicketValues")()


def to_storage(field: Field, value: Any) -> Any:
    """A loaded python value as the JSON column keeps it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
