"""Ticket types (K2) and their numbering (K5)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Pipeline, Ticket, TicketType
from kernel.services import settings as settings_service
from kernel.services import workflow
from kernel.services.uow import unit_of_work
from web import i18n
from web.admin import admin_required, bp
from web.admin.common import (
    first_error,
    save_texts,
    show_errors,
    texts_changed,
    texts_data,
    translate,
)
from web.admin.forms import NumberingForm, TypeCreateForm, TypeEditForm
from web.auth import viewer
from web.forms import options


def _types() -> list[TicketType]:
    return list(db.session.scalars(db.select(TicketType).order_by(TicketType.order,
                                                                  TicketType.key)))


def _pipelines() -> list[Pipeline]:
    """The pipelines a type may pick (archived ones left out)."""
    return list(db.session.scalars(db.select(Pipeline).where(Pipeline.archived_at.is_(None))
                                   .order_by(Pipeline.name)))


def _type_or_404(key: str) -> TicketType:
    try:
        return workflow.ticket_type(key)
    except NotFound:
        abort(404)


def _preview(template: str, key: str) -> tuple[str | None, str | None]:
    try:
        return workflow.preview_number(template, key), None
    except ValidationFailed as exc:
        return None, first_error(exc)


def _counts() -> dict[int, int]:
    rows = db.session.execute(db.select(Ticket.type_id, db.func.count()).group_by(Ticket.type_id))
    return dict(rows.all())


@bp.get("/types")
@admin_required()
def types(create_form: TypeCreateForm | None = None, status: int = 200):
    form = create_form or TypeCreateForm(formdata=None)
    _create_choices(form)
    rows = _types()
    return render_template(
        "admin/types.html", types=rows, form=form, counts=_counts(),
        default_key=settings_service.get("kernel.default_ticket_type"),
        previews={t.key: _preview(t.number_template, t.key)[0] for t in rows},
        new_preview=_preview(form.number_template.data or "", form.key.data or "type"),
    ), status


def _create_choices(form: TypeCreateForm) -> None:
    pipes = _pipelines()
    form.pipeline.choices = options((p.key, i18n.translate_label(p.name)) for p in pipes)
    groups: dict[str, list] = {"": options([("", "—")])}
    for p in pipes:
        groups[i18n.translate_label(p.name)] = options(
            (s.key, i18n.translate_label(s.name)) for s in p.active_statuses)
    form.initial_status.choices = groups


@bp.post("/types")
@admin_required()
def create_type():
    form = TypeCreateForm()
    if not form.validate():
        return types(form, 422)
    try:
        with unit_of_work():
            row = workflow.create_type(
                form.key.data.strip(), form.name.data.strip(), form.pipeline.data,
                number_template=form.number_template.data.strip(),
                initial_status=form.initial_status.data or None, actor=viewer())
            save_texts(form, row.name, "name")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return types(form, 422)
    flash(_("Ticket type “%(name)s” is created.", name=row.name), "success")
    return redirect(url_for("admin.edit_type", key=row.key), code=303)


@bp.post("/types/default")
@admin_required()
def set_default_type():
    key = request.form.get("key", "")
    row = _type_or_404(key)
    if not row.is_active:
        flash(_("An inactive type cannot be the default."), "error")
        return redirect(url_for("admin.types"), code=303)
    try:
        settings_service.set("kernel.default_ticket_type", row.key, actor=viewer())
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
        return redirect(url_for("admin.types"), code=303)
    flash(_("“%(name)s” is now the default ticket type.", name=i18n.translate_label(row.name)),
          "success")
    return redirect(url_for("admin.types"), code=303)


def _edit_page(row: TicketType, form: TypeEditForm | None = None,
               numbering: NumberingForm | None = None, status: int = 200):
    if form is None:
        form = TypeEditForm(formdata=None, data={
            "name": row.name, "initial_status": row.initial_status.key if row.initial_status
            else "", "order": row.order, "is_active": row.is_active,
            "customer_can_create": row.customer_can_create, **texts_data(row.name, "name")})
    form.initial_status.choices = options(
        (s.key, i18n.translate_label(s.name)) for s in row.pipeline.active_statuses)
    numbering = numbering or NumberingForm(formdata=None,
                                           data={"number_template": row.number_template})
    from kernel import fieldset

    return render_template(
        "admin/type_edit.html", row=row, form=form, numbering=numbering,
        fields=fieldset.for_type(row),
        is_default=settings_service.get("kernel.default_ticket_type") == row.key,
        preview=_preview(numbering.number_template.data or "", row.key),
        tickets=_counts().get(row.id, 0),
    ), status


@bp.get("/types/<key>")
@admin_required()
def edit_type(key: str):
    return _edit_page(_type_or_404(key))


@bp.post("/types/<key>")
@admin_required()
def update_type(key: str):
    row = _type_or_404(key)
    form = TypeEditForm()
    form.initial_status.choices = options((s.key, s.name) for s in row.pipeline.active_statuses)
    if not form.validate():
        return _edit_page(row, form, status=422)
    changes = {"name": form.name.data.strip(), "initial_status": form.initial_status.data,
               "is_active": bool(form.is_active.data),
               "customer_can_create": bool(form.customer_can_create.data)}
    if form.order.data is not None:
        changes["order"] = form.order.data
    try:
        with unit_of_work():
            texts = texts_changed(form, changes["name"], "name")
            changed = workflow.update_type(row.key, changes, actor=viewer()) or texts
            save_texts(form, changes["name"], "name")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _edit_page(row, form, status=422)
    flash(_("Ticket type is saved.") if changed else _("Nothing changed."),
          "success" if changed else "info")
    return redirect(url_for("admin.edit_type", key=row.key), code=303)


# -- numbering ------------------------------------------------------------------------


@bp.get("/numbering")
@admin_required()
def numbering(failed: str | None = None, failed_form: NumberingForm | None = None,
              status: int = 200):
    rows = []
    for t in _types():
        if failed == t.key and failed_form is not None:
            form = failed_form
        else:
            form = NumberingForm(formdata=None, data={"number_template": t.number_template},
                                 prefix=f"t-{t.key}")
        rows.append((t, form, _preview(form.number_template.data or "", t.key)))
    return render_template("admin/numbering.html", rows=rows), status


@bp.post("/types/<key>/numbering")
@admin_required()
def set_numbering(key: str):
    row = _type_or_404(key)
    back = request.form.get("back") == "numbering"
    form = NumberingForm(prefix=f"t-{row.key}" if back else "")
    if form.validate():
        try:
            workflow.set_number_template(row.key, form.number_template.data.strip(),
                                         actor=viewer())
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            flash(_("Numbering of “%(name)s” is saved: the next number is %(number)s.",
                    name=i18n.translate_label(row.name),
                    number=_preview(row.number_template, row.key)[0]), "success")
            return redirect(url_for("admin.numbering" if back else "admin.edit_type",
                                    key=None if back else row.key), code=303)
    if back:
        return numbering(row.key, form, 422)
    return _edit_page(row, numbering=form, status=422)


@bp.get("/numbering/preview")
@admin_required()
def numbering_preview():
    template = request.args.get("template", "")
    key = request.args.get("type", "") or "type"
    try:
        return jsonify(ok=True, number=workflow.preview_number(template, key[:64]))
    except ValidationFailed as exc:
        return jsonify(ok=False, error=translate(exc.errors["number_template"][0]))
