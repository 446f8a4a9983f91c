"""Categories and other dictionaries (S5, W5): add, rename, hide/show, order, group."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import ChoiceList
from kernel.services import fields as field_service
from kernel.services.uow import unit_of_work
from web import i18n
from web.admin import admin_required, bp
from web.admin.common import first_error, save_texts, show_errors, texts_data
from web.admin.forms import ChoiceEditForm, ChoiceItemForm, ChoiceListForm
from web.auth import viewer


@bp.get("/dictionaries")
@admin_required()
def dictionaries(form: ChoiceListForm | None = None, status: int = 200):
    lists = list(db.session.scalars(db.select(ChoiceList).order_by(ChoiceList.name)))
    used = {c.key: field_service.fields_using(c.key) for c in lists}
    return render_template("admin/dictionaries.html", lists=lists, used=used,
                           form=form or ChoiceListForm(formdata=None)), status


@bp.post("/dictionaries")
@admin_required()
def create_dictionary():
    form = ChoiceListForm()
    if not form.validate():
        return dictionaries(form, 422)
    try:
        with unit_of_work():
            row = field_service.create_choice_list(form.key.data.strip(), form.name.data,
                                                   actor=viewer())
            save_texts(form, row.name, "name")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return dictionaries(form, 422)
    flash(_("List “%(name)s” is created.", name=row.name), "success")
    return redirect(url_for("admin.dictionary", key=row.key), code=303)


def _list_or_404(key: str) -> ChoiceList:
    try:
        return field_service.choice_list(key)
    except NotFound:
        abort(404)


def _page(clist: ChoiceList, add_form: ChoiceItemForm | None = None,
          failed: tuple[str, ChoiceEditForm] | None = None, status: int = 200):
    db.session.refresh(clist)
    items = sorted(clist.items, key=lambda i: i.order)
    edit_forms = {}
    for item in items:
        if failed and failed[0] == item.value:
            edit_forms[item.value] = failed[1]
        else:
            edit_forms[item.value] = ChoiceEditForm(
                formdata=None, prefix=f"i{item.id}",
                data={"value": item.value, "label": i18n.translate_label(item.label),
                      "group": item.group, "visible": item.visible,
                      **texts_data(item.label, "label")})
    return render_template(
        "admin/dictionary.html", clist=clist, items=items, edit_forms=edit_forms,
        add_form=add_form or ChoiceItemForm(formdata=None, data={"visible": True}),
        used=field_service.fields_using(clist.key),
    ), status


@bp.get("/dictionaries/<key>")
@admin_required()
def dictionary(key: str):
    return _page(_list_or_404(key))


@bp.post("/dictionaries/<key>/items")
@admin_required()
def add_item(key: str):
    clist = _list_or_404(key)
    form = ChoiceItemForm()
    if not form.validate():
        return _page(clist, add_form=form, status=422)
    value = form.value.data.strip()
    if any(i.value == value for i in clist.items):
        show_errors(form, ValidationFailed({"value": _("This value is already in the list.")}))
        return _page(clist, add_form=form, status=422)
    try:
        with unit_of_work():
            field_service.save_choice(clist.key, value, form.label.data,
                                      group=(form.group.data or "").strip(),
                                      visible=bool(form.visible.data), actor=viewer())
            save_texts(form, form.label.data.strip(), "label")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _page(clist, add_form=form, status=422)
    flash(_("“%(label)s” is added.", label=form.label.data.strip()), "success")
    return redirect(url_for("admin.dictionary", key=clist.key), code=303)


@bp.post("/dictionaries/<key>/items/<int:item_id>")
@admin_required()
def update_item(key: str, item_id: int):
    clist = _list_or_404(key)
    item = next((i for i in clist.items if i.id == item_id), None)
    if item is None:
        abort(404)
    form = ChoiceEditForm(prefix=f"i{item.id}")
    if not form.validate():
        return _page(clist, failed=(item.value, form), status=422)
    label = form.label.data.strip()
    if label == i18n.translate_label(item.label):
        label = item.label  # unchanged: keep the declared (translatable) label
    try:
        with unit_of_work():
            field_service.save_choice(clist.key, item.value, label,
                                      group=(form.group.data or "").strip(),
                                      visible=bool(form.visible.data), parent=item.parent,
                                      actor=viewer())
            save_texts(form, label.strip(), "label")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _page(clist, failed=(item.value, form), status=422)
    flash(_("“%(label)s” is saved.", label=i18n.translate_label(label)), "success")
    return redirect(url_for("admin.dictionary", key=clist.key), code=303)


@bp.post("/dictionaries/<key>/items/<int:item_id>/visibility")
@admin_required()
def toggle_item(key: str, item_id: int):
    clist = _list_or_404(key)
    item = next((i for i in clist.items if i.id == item_id), None)
    if item is None:
        abort(404)
    was_visible = item.visible
    field_service.save_choice(clist.key, item.value, item.label, group=item.group,
                              visible=not was_visible, parent=item.parent, actor=viewer())
    flash(_("“%(label)s” is shown in lists.", label=i18n.translate_label(item.label))
          if not was_visible else
          _("“%(label)s” is hidden from lists; tickets keep it.",
            label=i18n.translate_label(item.label)), "success")
    return redirect(url_for("admin.dictionary", key=clist.key), code=303)


@bp.post("/dictionaries/<key>/items/<int:item_id>/move")
@admin_required()
def move_item(key: str, item_id: int):
    clist = _list_or_404(key)
    item = next((i for i in clist.items if i.id == item_id), None)
    if item is None:
        abort(404)
    try:
        field_service.move_choice(clist.key, item.value,
                                  -1 if request.form.get("direction") == "up" else 1,
                                  actor=viewer())
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
    return redirect(url_for("admin.dictionary", key=clist.key), code=303)
