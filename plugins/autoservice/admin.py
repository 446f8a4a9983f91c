"""The contact category dictionary (S5) for admins: add, rename, group, hide,
order categories; edit each category's outcomes and what they do; let operators
choose an automatic category by hand. Everything through
``plugins.autoservice.categories``, which writes the kernel's choice lists."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import NotFound, ValidationFailed
from kernel.i18n import N_
from plugins.autoservice import CATEGORIES, OUTCOMES, categories
from web import i18n
from web.admin import SECTIONS, Section, admin_required, sections_for
from web.auth import viewer

bp = Blueprint("autoservice_admin", __name__, url_prefix="/admin/autoservice",
               template_folder="templates")

SECTION = Section("autoservice", N_("Contact categories"), "autoservice_admin.categories",
                  categories.MANAGE, order=56,
                  description=N_("Categories of contacts with customers, their groups, order "
                                 "and outcomes."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)


def _page(errors: dict | None = None, status: int = 200, failed: str | None = None):
    return render_template(
        "autoservice/admin_categories.html", groups=categories.grouped(),
        outcomes={c.value: categories.outcomes(c.value) for c in categories.categories()},
        kinds=categories.KIND_LABELS, effects=categories.EFFECT_LABELS,
        errors=errors or {}, failed=failed, admin_sections=sections_for(viewer()),
        default_group=categories.GROUP), status


def _back(anchor: str = ""):
    return redirect(url_for("autoservice_admin.categories") + anchor, code=303)


def _refused(exc: ValidationFailed, where: str):
    return _page(i18n.translate_errors(exc.errors), 422, where)


@bp.get("/categories", endpoint="categories")
@admin_required(categories.MANAGE)
def categories_page():
    return _page()


def _form(*keys) -> dict:
    data = {k: (request.form.get(k) or "").strip() for k in keys}
    data["visible"] = request.form.get("visible") == "1"
    data["allow_manual"] = request.form.get("allow_manual") == "1"
    if data.get("group"):
        # The form shows a declared group in the reader's language: keep its key.
        known = {i18n.translate_label(g): g for g in
                 {categories.GROUP, *(c.group for c in categories.categories())} if g}
        data["group"] = known.get(data["group"], data["group"])
    return data


@bp.post("/categories")
@admin_required(categories.MANAGE)
def add_category():
    try:
        cat = categories.save_category(_form("label", "group", "kind"), actor=viewer())
    except ValidationFailed as exc:
        return _refused(exc, "new")
    flash(_("“%(label)s” is added.", label=cat.label), "success")
    return _back(f"#cat-{cat.value}")


@bp.post("/categories/<value>")
@admin_required(categories.MANAGE)
def update_category(value: str):
    data = _form("label", "group")
    cat = categories.category(value)
    if cat is None:
        abort(404)
    if data["label"] == i18n.translate_label(cat.label):
        data["label"] = cat.label  # unchanged: keep the declared (translatable) label
    try:
        cat = categories.save_category(data, value=value, actor=viewer())
    except NotFound:
        abort(404)
    except ValidationFailed as exc:
        return _refused(exc, value)
    flash(_("“%(label)s” is saved.", label=i18n.translate_label(cat.label)), "success")
    return _back(f"#cat-{cat.value}")


@bp.post("/categories/<value>/move")
@admin_required(categories.MANAGE)
def move_category(value: str):
    try:
        categories.move(CATEGORIES, value, -1 if request.form.get("direction") == "up" else 1,
                        actor=viewer())
    except NotFound:
        abort(404)
    return _back(f"#cat-{value}")


@bp.post("/categories/<value>/outcomes")
@admin_required(categories.MANAGE)
def add_outcome(value: str):
    try:
        found = categories.save_outcome(value, _form("label", "effect"), actor=viewer())
    except NotFound:
        abort(404)
    except ValidationFailed as exc:
        return _refused(exc, f"{value}:new")
    flash(_("“%(label)s” is added.", label=found.label), "success")
    return _back(f"#cat-{value}")


@bp.post("/outcomes/<value>")
@admin_required(categories.MANAGE)
def update_outcome(value: str):
    found = categories.outcome(value)
    if found is None:
        abort(404)
    data = _form("label", "effect")
    if data["label"] == i18n.translate_label(found.label):
        data["label"] = found.label
    try:
        categories.save_outcome(found.category, data, value=value, actor=viewer())
    except NotFound:
        abort(404)
    except ValidationFailed as exc:
        return _refused(exc, value)
    flash(_("“%(label)s” is saved.", label=i18n.translate_label(data["label"])), "success")
    return _back(f"#cat-{found.category}")


@bp.post("/outcomes/<value>/move")
@admin_required(categories.MANAGE)
def move_outcome(value: str):
    found = categories.outcome(value)
    if found is None:
        abort(404)
    categories.move(OUTCOMES, value, -1 if request.form.get("direction") == "up" else 1,
                    actor=viewer())
    return _back(f"#cat-{found.category}")
