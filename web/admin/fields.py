"""Fields (K4, P7): labels, order, required, visibility and help texts of
declared fields (overrides), and custom fields (доп.поля)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from kernel import fieldset, runtime
from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import ChoiceList, FieldDefinition, TicketType
from kernel.models.fields import OVERRIDABLE
from kernel.services import fields as field_service
from kernel.services.uow import unit_of_work
from web import i18n
from web.admin import admin_required, bp
from web.admin.common import save_texts, show_errors, texts_changed, texts_data
from web.admin.forms import FIELD_TYPE_LABELS, CustomFieldForm, FieldEditForm
from web.auth import viewer
from web.forms import options


def _types() -> list[TicketType]:
    return list(db.session.scalars(db.select(TicketType).order_by(TicketType.order,
                                                                  TicketType.key)))


def _rows() -> dict[str, FieldDefinition]:
    return {r.key: r for r in db.session.scalars(db.select(FieldDefinition))}


@bp.get("/fields")
@admin_required()
def fields(form: CustomFieldForm | None = None, status: int = 200):
    form = form or CustomFieldForm(formdata=None, data={"order": 100, "shown_on_card": True})
    _custom_choices(form)
    rows = _rows()
    defs = fieldset.all_fields(include_inactive=True)
    return render_template(
        "admin/fields.html", definitions=defs, rows=rows, form=form,
        type_names={t.key: i18n.translate_label(t.name) for t in _types()},
        type_labels=dict(FIELD_TYPE_LABELS),
    ), status


def _custom_choices(form: CustomFieldForm) -> None:
    lists = db.session.scalars(db.select(ChoiceList).order_by(ChoiceList.name))
    form.choice_list.choices = options([("", "—"), *(
        (c.key, i18n.translate_label(c.name)) for c in lists)])
    entities = runtime.host().registry.reference_entities
    form.reference.choices = options([("", "—"), *(
        (k, i18n.translate_label(e.decl.label)) for k, e in sorted(entities.items()))])
    form.ticket_types.choices = options(
        (t.key, i18n.translate_label(t.name)) for t in _types())


def _parse_choices(text: str) -> list[list[str]]:
    result = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        value, sep, label = line.partition("=")
        value, label = value.strip(), label.strip()
        if not sep:
            label = value
        result.append([value, label or value])
    return result


@bp.post("/fields")
@admin_required()
def create_field():
    form = CustomFieldForm()
    _custom_choices(form)
    if not form.validate():
        return fields(form, 422)
    data = {
        "key": form.key.data.strip(), "type": form.type.data, "label": form.label.data.strip(),
        "help_text": form.help_text.data or "", "required": bool(form.required.data),
        "shown_in_list": bool(form.shown_in_list.data),
        "shown_on_card": bool(form.shown_on_card.data),
        "shown_to_customer": bool(form.shown_to_customer.data),
        "editable_by_customer": bool(form.editable_by_customer.data),
        "ticket_types": list(form.ticket_types.data or []),
    }
    if form.order.data is not None:
        data["order"] = form.order.data
    if form.type.data in ("choice", "multi_choice"):
        if form.choice_list.data:
            data["choice_list"] = form.choice_list.data
        else:
            data["choices"] = _parse_choices(form.choices.data)
    if form.type.data == "reference":
        data["reference"] = form.reference.data or None
    known = {t.key for t in _types()}
    bad = [k for k in data["ticket_types"] if k not in known]
    try:
        if bad:
            raise ValidationFailed({"ticket_types": f"Unknown ticket type {bad[0]!r}."})
        with unit_of_work():
            row = field_service.create_custom(data, actor=viewer())
            save_texts(form, row.label, "label")
            save_texts(form, row.help_text, "help_text")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return fields(form, 422)
    flash(_("Field “%(label)s” is created.", label=row.label), "success")
    return redirect(url_for("admin.fields") + f"#field-{row.key}", code=303)


def _definition_or_404(key: str) -> FieldDefinition:
    try:
        return field_service.definition(key)
    except NotFound:
        abort(404)


def _effective(row: FieldDefinition) -> fieldset.Field:
    return fieldset.Field.from_row(row)


def _edit_page(row: FieldDefinition, form: FieldEditForm | None = None, status: int = 200):
    effective = _effective(row)
    if form is None:
        data = {k: getattr(effective, k) for k in OVERRIDABLE}
        data["label"] = i18n.translate_label(effective.label) if not (
            row.overrides or {}).get("label") and not row.is_custom else effective.label
        data["help_text"] = i18n.translate_label(effective.help_text) if not (
            row.overrides or {}).get("help_text") and not row.is_custom else effective.help_text
        data.update(texts_data(effective.label, "label"))
        data.update(texts_data(effective.help_text, "help_text"))
        data["ticket_types"] = list(row.ticket_types or [])
        form = FieldEditForm(formdata=None, data=data)
    form.ticket_types.choices = options(
        (t.key, i18n.translate_label(t.name)) for t in _types())
    clist = None
    if effective.choice_list:
        clist = db.session.scalar(db.select(ChoiceList).where(
            ChoiceList.key == effective.choice_list))
    return render_template(
        "admin/field_edit.html", row=row, field=effective, form=form, choice_list=clist,
        type_names={t.key: i18n.translate_label(t.name) for t in _types()},
        type_labels=dict(FIELD_TYPE_LABELS),
    ), status


@bp.get("/fields/<key>")
@admin_required()
def edit_field(key: str):
    return _edit_page(_definition_or_404(key))


@bp.post("/fields/<key>")
@admin_required()
def update_field(key: str):
    row = _definition_or_404(key)
    form = FieldEditForm()
    if not form.validate():
        return _edit_page(row, form, 422)
    effective = _effective(row)
    submitted = {
        "label": form.label.data.strip(), "help_text": (form.help_text.data or "").strip(),
        "required": bool(form.required.data), "shown_in_list": bool(form.shown_in_list.data),
        "shown_on_card": bool(form.shown_on_card.data),
        "shown_to_customer": bool(form.shown_to_customer.data),
        "editable_by_customer": bool(form.editable_by_customer.data),
    }
    if form.order.data is not None:
        submitted["order"] = form.order.data
    types = sorted(set(form.ticket_types.data or [])) if row.is_custom else None
    if submitted["required"] and not effective.required and not form.required_confirmed.data:
        missing = field_service.tickets_without_value(row.key)
        if missing:
            # Decided: existing tickets are never filled in or refused behind the
            # admin's back; the admin is told how many and confirms.
            form.required.errors = [ngettext(
                "%(num)d ticket has no value for this field. It keeps none; the value is "
                "asked for the next time it is saved. Tick the box below to go ahead.",
                "%(num)d tickets have no value for this field. They keep none; the value is "
                "asked for the next time each is saved. Tick the box below to go ahead.",
                missing)]
            return _edit_page(row, form, 422)
    changes = {}
    for k, v in submitted.items():
        current = getattr(effective, k)
        if k in ("label", "help_text") and not row.is_custom and not (
                row.overrides or {}).get(k):
            current = i18n.translate_label(current)  # the form showed it translated
        if v != current:
            changes[k] = v
    types_changed = types is not None and types != sorted(row.ticket_types or [])
    texts = changes or texts_changed(form, changes.get("label", effective.label), "label") or \
        texts_changed(form, changes.get("help_text", effective.help_text), "help_text")
    if not texts and not types_changed:
        flash(_("Nothing changed."), "info")
        return redirect(url_for("admin.edit_field", key=row.key), code=303)
    try:
        with unit_of_work():
            if types_changed:
                field_service.set_ticket_types(row.key, types, actor=viewer())
            if changes:
                field_service.override(row.key, changes, actor=viewer())
            saved = _effective(row)
            save_texts(form, saved.label, "label")
            save_texts(form, saved.help_text, "help_text")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _edit_page(row, form, 422)
    flash(_("Field “%(label)s” is saved.", label=i18n.translate_label(
        _effective(row).label)), "success")
    return redirect(url_for("admin.edit_field", key=row.key), code=303)


@bp.post("/fields/<key>/reset")
@admin_required()
def reset_field(key: str):
    row = _definition_or_404(key)
    if row.is_custom:
        abort(404)
    field_service.reset_overrides(row.key, actor=viewer())
    flash(_("The field is back to the plugin's defaults."), "success")
    return redirect(url_for("admin.edit_field", key=row.key), code=303)


@bp.post("/fields/<key>/deactivate")
@admin_required()
def deactivate_field(key: str):
    row = _definition_or_404(key)
    try:
        field_service.deactivate(row.key, actor=viewer())
    except ValidationFailed:
        abort(404)
    flash(_("Field “%(label)s” is removed from the forms; values already entered stay.",
            label=row.label), "success")
    return redirect(url_for("admin.fields"), code=303)
