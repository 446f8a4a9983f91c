"""Forms built from the kernel's field definitions (K4, P3, P7), and the helpers
that show kernel refusals next to the right field.

Building a ticket form (the portal's "New ticket", the agent's create/edit)::

    from web.forms import ticket_form, apply_errors

    form = ticket_form(ticket_type, "customer", actor=viewer())     # or ticket=... to edit
    if form.validate_on_submit():           # CSRF only: the kernel checks the values
        try:
            ticket = tickets.create(form.ticket_values(), actor=viewer(), type=ticket_type.key)
        except ValidationFailed as exc:
            apply_errors(form, exc)         # each message under its field, translated
    return render_template("...", form=form)  # {{ forms.ticket_fields(form) }}

* Fields, labels, order, help texts and "required" come from
  ``kernel.fieldset.for_type(type, audience)`` — the deployment's overrides
  included; labels declared with ``N_`` are translated.
* Choices come from ``kernel.fieldset.allowed_choices`` (plugins may filter them).
* ``ticket_values()`` gives *raw* values for ``tickets.create``; ``changed_values()``
  only what the person changed (for ``tickets.update``). A ``datetime-local``
  input is read in the person's time zone and handed over with its offset.
* ``file`` fields are not values: ``uploads()`` returns their files, to attach.

Template side (``macros/forms.html``): ``render_field(field)``,
``ticket_fields(form)``, ``form_errors(form)``; and for cards
``macros/fields.html``: ``field_value(definition, value, ticket)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from werkzeug.routing import BuildError
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms import widgets as w
from wtforms.fields.choices import SelectChoice

from kernel import fieldset, phones, runtime
from kernel.errors import ValidationFailed
from kernel.fieldset import Field as Definition
from kernel.models import Customer, Ticket, TicketType, User
from web import customer_contact, dates, i18n

NO_NATIVE_REQUIRED = {"required": False}  # the kernel decides; messages stay translated


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """``[(value, label), ...]`` as WTForms choices."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


class CheckboxList(SelectMultipleField):
    """A multi-choice as a list of checkboxes."""

    widget = w.ListWidget(prefix_label=False)
    option_widget = w.CheckboxInput()


# Field keys that would shadow a form's own attributes get another name
# (``field_<key>``); ``form.field(key)`` finds an input by its definition's key.
RESERVED = frozenset(dir(FlaskForm)) | {"csrf_token", "definitions", "initial", "attr_names"}


def attr_name(key: str) -> str:
    return f"field_{key}" if key in RESERVED or key.startswith("field_") else key


class TicketForm(FlaskForm):
    """A form whose fields mirror field definitions. Built by ``ticket_form_class``."""

    definitions: dict[str, Definition] = {}

    def __init__(self, *args: Any, initial: dict[str, Any] | None = None, **kwargs: Any):
        self.initial = dict(initial or {})
        kwargs.setdefault("data", {attr_name(k): v for k, v in self.initial.items()})
        super().__init__(*args, **kwargs)
        for key, definition in self.definitions.items():
            if definition.required and attr_name(key) in self:
                self[attr_name(key)].flags.required = True

    def field(self, key: str) -> Field | None:
        """The input of field definition ``key``."""
        name = attr_name(key)
        return self[name] if key in self.definitions and name in self else None

    def definition_fields(self) -> Iterator[tuple[Field, Definition]]:
        """``(wtforms field, definition)`` in form order."""
        for key, definition in self.definitions.items():
            found = self.field(key)
            if found is not None:
                yield found, definition

    def ticket_values(self) -> dict[str, Any]:
        """Every field's raw value, for ``tickets.create``."""
        return {definition.key: _raw(found, definition)
                for found, definition in self.definition_fields() if definition.type != "file"}

    def changed_values(self) -> dict[str, Any]:
        """Only the fields whose value differs from what the form was opened with."""
        changed = {}
        for key, value in self.ticket_values().items():
            before = _raw_initial(self.initial.get(key), self.definitions[key])
            if value != before:
                changed[key] = value
        return changed

    def uploads(self) -> dict[str, FileStorage]:
        """Files chosen in ``file`` fields, by field key."""
        files = {}
        for found, definition in self.definition_fields():
            data = found.data if definition.type == "file" else None
            if isinstance(data, FileStorage) and data.filename:
                files[definition.key] = data
        return files


def ticket_form_class(
    ticket_type: TicketType,
    audience: str = "agent",
    actor: User | None = None,
    customer: Customer | None = None,
    ticket: Ticket | None = None,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    base: type[TicketForm] = TicketForm,
) -> type[TicketForm]:
    """A form class for ``ticket_type`` as ``audience`` (``agent``: every field;
    ``customer``: the fields a customer fills in). ``exclude``/``only`` pick fields
    by key; ``base`` may add fields of the page's own (they are not ticket values)."""
    skip = set(exclude)
    keep = set(only) if only is not None else None
    definitions = {
        d.key: d for d in fieldset.for_type(ticket_type, audience)
        if d.key not in skip and (keep is None or d.key in keep)
    }
    attrs: dict[str, Any] = {"definitions": definitions}
    for key, definition in definitions.items():
        attrs[attr_name(key)] = _field_for(definition, ticket_type, actor, customer, ticket)
    return type(f"{base.__name__}_{ticket_type.key}", (base,), attrs)


def ticket_form(
    ticket_type: TicketType,
    audience: str = "agent",
    actor: User | None = None,
    customer: Customer | None = None,
    ticket: Ticket | None = None,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    base: type[TicketForm] = TicketForm,
    **kwargs: Any,
) -> TicketForm:
    """A bound form (request data on POST); with ``ticket``, opened with its values."""
    cls = ticket_form_class(ticket_type, audience, actor, customer or (
        ticket.customer if ticket is not None else None), ticket, exclude, only, base)
    initial = initial_values(ticket, cls.definitions.values()) if ticket is not None else {}
    return cls(initial=initial, **kwargs)


def prefill(ticket_type: TicketType, viewer: User, keys: Iterable[str]) -> dict[str, Any]:
    """What the plugins' ``hookdesk_ticket_form_prefill`` say the form for
    ``ticket_type`` starts with, for the field ``keys`` of the form; a key two
    plugins answer differently is left out."""
    wanted = set(keys)
    merged: dict[str, Any] = {}
    disputed: set[str] = set()
    for _plugin, answer in runtime.host().collect(
            "hookdesk_ticket_form_prefill", ticket_type=ticket_type, viewer=viewer):
        for key, value in (answer or {}).items():
            if key not in wanted or value in (None, ""):
                continue
            if key in merged and merged[key] != value:
                disputed.add(key)
            merged.setdefault(key, value)
    return {k: v for k, v in merged.items() if k not in disputed}


def _field_for(definition: Definition, ticket_type, actor, customer, ticket):
    label = i18n.translate_label(definition.label)
    description = i18n.translate_label(definition.help_text)
    render_kw: dict[str, Any] = dict(NO_NATIVE_REQUIRED)
    common = {"label": label, "description": description, "render_kw": render_kw}
    kind = definition.type
    if kind in ("text", "long_text") and definition.max_length:
        render_kw["maxlength"] = definition.max_length
    if kind == "text":
        return StringField(**common)
    if kind == "long_text":
        render_kw["rows"] = 6
        return TextAreaField(**common)
    if kind == "number":
        render_kw["inputmode"] = "decimal"
        return StringField(**common)
    if kind == "date":
        render_kw.update(dates.input_attrs())
        return StringField(**common)
    if kind == "datetime":
        render_kw.update(dates.input_attrs(with_time=True))
        return StringField(**common)
    if kind == "flag":
        return BooleanField(**common)
    if kind == "phone":
        render_kw["autocomplete"] = "tel"
        return TelField(**common)
    if kind == "email":
        render_kw["autocomplete"] = "email"
        return EmailField(**common)
    if kind == "file":
        return FileField(**common)
    choices = fieldset.allowed_choices(definition, ticket_type, actor, customer, ticket)
    if kind == "choice" or (kind == "reference" and choices is not None):
        items = [(v, i18n.translate_label(lbl)) for v, lbl in choices or []]
        empty = _("Choose…") if definition.required else "—"
        return SelectField(choices=options([("", empty), *items]), validate_choice=False,
                           **common)
    if kind == "multi_choice":
        items = [(v, i18n.translate_label(lbl)) for v, lbl in choices or []]
        return CheckboxList(choices=options(items), validate_choice=False, **common)
    if kind == "reference":
        render_kw["inputmode"] = "numeric"
        return StringField(**common)
    raise ValueError(f"unknown field type {kind!r}")  # pragma: no cover - registry checks


# -- values in and out ----------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _raw(form_field: Field, definition: Definition) -> Any:
    data = form_field.data
    kind = definition.type
    if kind == "flag":
        return bool(data)
    if kind == "multi_choice":
        return [str(v) for v in data] if data else None
    if _empty(data):
        return None
    if kind == "datetime":
        return local_to_utc_iso(str(data))
    if kind == "date":
        return dates.to_iso_date(str(data))
    return data.strip() if isinstance(data, str) else data


def local_to_utc_iso(text: str) -> str:
    """``2024-05-12T14:30`` (or ``12.05.2024 14:30``) typed in the person's time
    zone -> ISO 8601 with offset. Anything unreadable is passed on as typed, for
    the kernel to refuse by name."""
    moment = dates.parse(text)
    if not isinstance(moment, datetime):
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=i18n.current_timezone())
    return moment.astimezone(UTC).isoformat()


def _local_input(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return dates.format_datetime(moment.astimezone(i18n.current_timezone()))


def initial_values(ticket: Ticket, definitions: Iterable[Definition]) -> dict[str, Any]:
    """A ticket's values as the form's inputs show them."""
    data: dict[str, Any] = {}
    for definition in definitions:
        value = ticket.value(definition.key)
        kind = definition.type
        if kind == "file":
            continue
        if kind == "flag":
            data[definition.key] = bool(value)
        elif kind == "multi_choice":
            data[definition.key] = [str(v) for v in value or []]
        elif value is None:
            data[definition.key] = None
        elif kind == "datetime":
            data[definition.key] = _local_input(value)
        elif kind == "date":
            data[definition.key] = dates.format_date(value)
        else:
            data[definition.key] = str(value)
    return data


def _raw_initial(value: Any, definition: Definition) -> Any:
    if definition.type == "flag":
        return bool(value)
    if definition.type == "multi_choice":
        return [str(v) for v in value] if value else None
    if _empty(value):
        return None
    if definition.type == "datetime":
        return local_to_utc_iso(str(value))
    if definition.type == "date":
        return dates.to_iso_date(str(value))
    return value.strip() if isinstance(value, str) else value


# -- refusals next to their fields ---------------------------------------------------


def apply_errors(
    form: FlaskForm, exc: ValidationFailed, field_map: dict[str, str] | None = None
) -> None:
    """Put each message of ``exc.errors`` (translated) under the field it names.

    ``field_map`` renames kernel keys to form fields (``{"password":
    "new_password"}``); ``phones.0`` falls back to ``phones``. Messages for keys
    the form has no field for go to ``form.form_errors``, prefixed with the key."""
    mapping = field_map or {}

    def lookup(name: str) -> Field | None:
        if isinstance(form, TicketForm) and form.field(name) is not None:
            return form.field(name)
        return form._fields.get(name)

    for key, messages in i18n.translate_errors(exc.errors).items():
        name = mapping.get(key, key)
        target = lookup(name)
        if target is None and "." in name:
            base = name.split(".", 1)[0]
            target = lookup(mapping.get(base, base))
        if target is not None:
            target.errors = [*target.errors, *messages]
        else:
            prefix = "" if key in ("_schema", "") else f"{_label_for(form, key)}: "
            form.form_errors.extend(prefix + message for message in messages)


def _label_for(form: FlaskForm, key: str) -> str:
    definitions = getattr(form, "definitions", {}) or {}
    definition = definitions.get(key) or next(
        (f for f in fieldset.all_fields() if f.key == key), None)
    return i18n.translate_label(definition.label) if definition is not None else key


# -- showing a value on a card --------------------------------------------------------


@dataclass
class Shown:
    """A field value ready to show: ``text`` (what to print), ``href`` (a link),
    ``items`` (several values), ``kind`` (the field type, for styling),
    ``actions`` (phone icons from ``hookdesk_phone_actions``)."""

    kind: str
    text: str = ""
    href: str | None = None
    items: list[str] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    empty: bool = False


def display_value(
    definition: Definition, value: Any, ticket: Ticket | None = None, viewer: User | None = None
) -> Shown:
    """How ``value`` of ``definition`` reads on a card, in the reader's language."""
    kind = definition.type
    if kind != "flag" and _empty(value):
        return Shown(kind, empty=True)
    if kind == "flag":
        return Shown(kind, text=_("Yes") if value else _("No"))
    if kind in ("choice", "multi_choice"):
        labels = dict(fieldset.base_choices(definition) or [])
        values = value if isinstance(value, list) else [value]
        items = [i18n.translate_label(labels.get(str(v), str(v))) for v in values]
        return Shown(kind, text=", ".join(items), items=items)
    if kind == "datetime":
        return Shown(kind, text=i18n.localdt(value))
    if kind == "date":
        return Shown(kind, text=i18n.localdate(value))
    if kind == "phone":
        actions = []
        if viewer is not None and viewer.is_agent:
            for _plugin, answer in runtime.host().collect(
                "hookdesk_phone_actions", phone=str(value), viewer=viewer, ticket=ticket
            ):
                actions.extend(answer)
            actions.sort(key=lambda action: action.key)
        return Shown(kind, text=phones.display(str(value)), href=f"tel:{value}", actions=actions)
    if kind == "email":
        return Shown(kind, text=str(value), href=f"mailto:{value}")
    if kind == "reference":
        entry = runtime.host().registry.reference_entities.get(definition.reference or "")
        target = entry.decl.lookup(value) if entry is not None else None
        if target is None:
            return Shown(kind, text=f"#{value}")
        return Shown(kind, text=str(entry.decl.display(target)))
    if kind == "file":
        from kernel.db import get_by_id
        from kernel.models import Attachment

        attachment = get_by_id(Attachment, value)
        if attachment is None:
            return Shown(kind, text=f"#{value}")
        return Shown(kind, text=attachment.filename, href=_endpoint_url(
            "files.download", attachment_id=attachment.id))
    if kind == "number" and isinstance(value, int | float):
        from babel.numbers import format_decimal

        return Shown(kind, text=format_decimal(value, locale=i18n.current_locale()))
    return Shown(kind, text=str(value))


def _endpoint_url(endpoint: str, **values: Any) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def init_app(app) -> None:
    app.jinja_env.globals["display_value"] = display_value
    app.jinja_env.globals["date_input"] = dates.input_html
    app.jinja_env.globals["date_value"] = dates.format_date
    app.jinja_env.globals["contact_fallback"] = customer_contact.fallback
