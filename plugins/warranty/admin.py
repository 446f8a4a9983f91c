"""Admin screens of the warranty plugin (W1, W2): ``/admin/warranty``.

Houses with their warranty period, each house's apartments, an apartment's
floor plan and owners (kernel customers), and the CSV import. They live in the
admin menu (a ``Section`` of ``web.admin.SECTIONS``) and look like the other
admin screens; they need "warranty.manage" (other agents and customers get
403). Every change goes through ``plugins.warranty.property`` with the signed-in
user as the actor, so the checks and the change log are those of the API and
the import; refusals are shown under the field they name.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from kernel import permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer
from kernel.services import customers
from plugins.warranty import importer
from plugins.warranty import property as prop
from plugins.warranty.models import Apartment, House
from web import i18n
from web.admin import SECTIONS, Section, sections_for
from web.admin.common import first_error, show_errors
from web.auth import permission_required, viewer
from web.forms import options

bp = Blueprint("warranty_admin", __name__, url_prefix="/admin/warranty",
               template_folder="templates")

SECTION = Section("warranty", N_("Houses and apartments"), "warranty_admin.houses",
                  prop.MANAGE, order=55,
                  description=N_("Houses and their warranty period, apartments, floor plans, "
                                 "owners; import from CSV."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)

REQUIRED = _l("This field is required.")
CUSTOMERS_VIEW = "customers.view"
NOT_A_KEY = N_("Not a customer number, phone or e-mail.")
manage_required = permission_required(prop.MANAGE)


# -- forms ----------------------------------------------------------------------------


class HouseForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)],
                       description=_l("How buyers and agents know the house, e.g. "
                                      "“Sunny Park, building 1”."))
    address = StringField(_l("Address"), validators=[Length(max=500)])
    warranty_until = StringField(_l("Warranty until"), validators=[DataRequired(REQUIRED)],
                                 description=_l("The last day of the warranty period."),
                                 render_kw={"type": "date"})


def _number_field() -> StringField:
    return StringField(_l("Apartment number"), validators=[DataRequired(REQUIRED), Length(max=20)])


def _floor_field() -> StringField:
    return StringField(_l("Floor"), description=_l("Leave empty when unknown."),
                       render_kw={"inputmode": "numeric"})


class ApartmentForm(FlaskForm):
    number = _number_field()
    floor = _floor_field()


class ApartmentEditForm(FlaskForm):
    house_id = SelectField(_l("House"), validate_choice=False,
                           description=_l("Move the apartment to another house."))
    number = _number_field()
    floor = _floor_field()


class PlanForm(FlaskForm):
    plan = FileField(_l("Plan image"), description=_l("A PNG, JPEG or WebP picture."),
                     render_kw={"accept": "image/png,image/jpeg,image/webp"})


class OwnerSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET) changes nothing

    q = StringField(_l("Phone, e-mail or customer number"),
                    description=_l("An exact phone, e-mail or number of the customer."))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv"})
    dry_run = BooleanField(_l("Only check the file: write nothing"))


# -- helpers --------------------------------------------------------------------------


@bp.context_processor
def _context() -> dict[str, Any]:
    user = viewer()
    return {"admin_sections": sections_for(user) if user is not None else [],
            "can_see_customers": user is not None and permissions.has(user, CUSTOMERS_VIEW),
            "today": prop.today()}


def _house_or_404(house_id: int) -> House:
    try:
        return prop.get_house(house_id)
    except NotFound:
        abort(404)


def _apartment_or_404(apartment_id: int) -> Apartment:
    try:
        return prop.get_apartment(apartment_id)
    except NotFound:
        abort(404)


def _iso_date(raw: str | None) -> str:
    """A date typed as DD.MM.YYYY (browsers without a date picker) as ISO;
    anything else as typed, for the service to judge."""
    raw = (raw or "").strip()
    parsed = importer.parse_date(raw)
    return parsed.isoformat() if parsed else raw


def _floor(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return raw or None


def _house_data(form: HouseForm) -> dict[str, Any]:
    return {"name": form.name.data or "", "address": form.address.data or "",
            "warranty_until": _iso_date(form.warranty_until.data)}


def _house_form(house: House) -> HouseForm:
    return HouseForm(formdata=None, data={"name": house.name, "address": house.address,
                                          "warranty_until": house.warranty_until.isoformat()})


def find_customers(query: str) -> list[Customer]:
    """Customers matching ``query`` exactly: their number (``42`` or ``#42``), a
    phone or an e-mail. ``ValidationFailed`` (key ``q``) when it is none of these.
    Asked as the system: a manager of houses links buyers without "can see
    customers", but only by an exact match (no browsing)."""
    query = (query or "").strip()
    if not query:
        return []
    found: dict[int, Customer] = {}
    number = re.fullmatch(r"#?(\d{1,9})", query)
    if number:
        customer = get_by_id(Customer, int(number.group(1)))
        if customer is not None:
            found[customer.id] = customer
    if "@" in query:
        found.update((c.id, c) for c in customers.find_by_email(query, None))
    elif any(ch.isdigit() for ch in query):
        try:
            found.update((c.id, c) for c in customers.find_by_phone(query, None))
        except ValidationFailed as exc:
            if not number:
                raise ValidationFailed({"q": NOT_A_KEY}) from exc
    elif not number:
        raise ValidationFailed({"q": NOT_A_KEY})
    return sorted(found.values(), key=lambda c: (c.name, c.id))


# -- houses ---------------------------------------------------------------------------


@bp.get("")
@manage_required
def houses(form: HouseForm | None = None, status: int = 200):
    rows = prop.houses()
    counts = prop.apartment_counts()
    return render_template("warranty/admin/houses.html", houses=rows, counts=counts,
                           form=form or HouseForm(formdata=None)), status


@bp.post("/houses")
@manage_required
def create_house():
    form = HouseForm()
    if not form.validate():
        return houses(form, 422)
    try:
        house = prop.create_house(_house_data(form), actor=viewer())
    except ValidationFailed as exc:
        show_errors(form, exc)
        return houses(form, 422)
    flash(_("House “%(name)s” is created.", name=house.name), "success")
    return redirect(url_for("warranty_admin.house", house_id=house.id), code=303)


def _house_page(house: House, form: HouseForm | None = None,
                apartment_form: ApartmentForm | None = None, status: int = 200):
    flats = prop.apartments(house)
    return render_template(
        "warranty/admin/house.html", house=house, apartments=flats,
        owners=prop.owners_by_apartment([a.id for a in flats]),
        form=form or _house_form(house),
        apartment_form=apartment_form or ApartmentForm(formdata=None),
    ), status


@bp.get("/houses/<int:house_id>")
@manage_required
def house(house_id: int):
    return _house_page(_house_or_404(house_id))


@bp.post("/houses/<int:house_id>")
@manage_required
def update_house(house_id: int):
    target = _house_or_404(house_id)
    form = HouseForm()
    if not form.validate():
        return _house_page(target, form=form, status=422)
    try:
        prop.update_house(target, _house_data(form), actor=viewer())
    except ValidationFailed as exc:
        db.session.refresh(target)
        show_errors(form, exc)
        return _house_page(target, form=form, status=422)
    flash(_("House “%(name)s” is saved.", name=target.name), "success")
    return redirect(url_for("warranty_admin.house", house_id=target.id), code=303)


@bp.post("/houses/<int:house_id>/delete")
@manage_required
def delete_house(house_id: int):
    target = _house_or_404(house_id)
    name = target.name
    try:
        prop.delete_house(target, actor=viewer())
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
        return redirect(url_for("warranty_admin.house", house_id=house_id), code=303)
    flash(_("House “%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("warranty_admin.houses"), code=303)


@bp.post("/houses/<int:house_id>/apartments")
@manage_required
def create_apartment(house_id: int):
    target = _house_or_404(house_id)
    form = ApartmentForm()
    if not form.validate():
        return _house_page(target, apartment_form=form, status=422)
    try:
        flat = prop.create_apartment({"house_id": target.id, "number": form.number.data or "",
                                      "floor": _floor(form.floor.data)}, actor=viewer())
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _house_page(target, apartment_form=form, status=422)
    flash(_("Apartment %(number)s is created.", number=flat.number), "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id), code=303)


# -- apartments -----------------------------------------------------------------------


def _house_choices(form: ApartmentEditForm) -> None:
    form.house_id.choices = options((h.id, h.name) for h in prop.houses())


def _apartment_page(flat: Apartment, form: ApartmentEditForm | None = None,
                    plan_form: PlanForm | None = None,
                    search_form: OwnerSearchForm | None = None, status: int = 200):
    if form is None:
        form = ApartmentEditForm(formdata=None, data={
            "house_id": str(flat.house_id), "number": flat.number,
            "floor": "" if flat.floor is None else str(flat.floor)})
    _house_choices(form)
    if search_form is None:
        search_form = OwnerSearchForm(request.args if "q" in request.args else None)
    owners = prop.owners(flat)
    found: list[Customer] | None = None
    if search_form.q.data and not search_form.q.errors:
        try:
            found = find_customers(search_form.q.data)
        except ValidationFailed as exc:
            show_errors(search_form, exc)
    owner_ids = {c.id for c in owners}
    return render_template(
        "warranty/admin/apartment.html", apartment=flat, house=flat.house, form=form,
        plan_form=plan_form or PlanForm(formdata=None), search_form=search_form,
        owners=owners, found=found, owner_ids=owner_ids, claims=prop.claims_count(flat),
    ), status


@bp.get("/apartments/<int:apartment_id>")
@manage_required
def apartment(apartment_id: int):
    return _apartment_page(_apartment_or_404(apartment_id))


@bp.post("/apartments/<int:apartment_id>")
@manage_required
def update_apartment(apartment_id: int):
    flat = _apartment_or_404(apartment_id)
    form = ApartmentEditForm()
    _house_choices(form)
    if not form.validate():
        return _apartment_page(flat, form=form, status=422)
    data: dict[str, Any] = {"number": form.number.data or "", "floor": _floor(form.floor.data)}
    if (form.house_id.data or "").isdigit():
        data["house_id"] = int(form.house_id.data)
    else:
        show_errors(form, ValidationFailed({"house_id": "No such house."}))
        return _apartment_page(flat, form=form, status=422)
    try:
        prop.update_apartment(flat, data, actor=viewer())
    except ValidationFailed as exc:
        db.session.refresh(flat)
        show_errors(form, exc)
        return _apartment_page(flat, form=form, status=422)
    flash(_("Apartment %(number)s is saved.", number=flat.number), "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id), code=303)


@bp.post("/apartments/<int:apartment_id>/delete")
@manage_required
def delete_apartment(apartment_id: int):
    flat = _apartment_or_404(apartment_id)
    house_id, number = flat.house_id, flat.number
    try:
        prop.delete_apartment(flat, actor=viewer())
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
        return redirect(url_for("warranty_admin.apartment", apartment_id=apartment_id),
                        code=303)
    flash(_("Apartment %(number)s is deleted.", number=number), "success")
    return redirect(url_for("warranty_admin.house", house_id=house_id), code=303)


@bp.post("/apartments/<int:apartment_id>/plan")
@manage_required
def upload_plan(apartment_id: int):
    flat = _apartment_or_404(apartment_id)
    form = PlanForm()
    if not form.validate():
        return _apartment_page(flat, plan_form=form, status=422)
    upload = form.plan.data
    if upload is None or not getattr(upload, "filename", ""):
        form.plan.errors = [_("Choose an image file.")]
        return _apartment_page(flat, plan_form=form, status=422)
    try:
        prop.set_plan(flat, upload, actor=viewer())
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _apartment_page(flat, plan_form=form, status=422)
    flash(_("The plan is saved."), "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id, _anchor="plan"),
                    code=303)


@bp.post("/apartments/<int:apartment_id>/plan/delete")
@manage_required
def remove_plan(apartment_id: int):
    flat = _apartment_or_404(apartment_id)
    if flat.has_plan:
        prop.remove_plan(flat, actor=viewer())
        flash(_("The plan is removed."), "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id, _anchor="plan"),
                    code=303)


@bp.post("/apartments/<int:apartment_id>/owners")
@manage_required
def add_owner(apartment_id: int):
    flat = _apartment_or_404(apartment_id)
    raw = (request.form.get("customer_id") or "").strip().lstrip("#")
    search_form = OwnerSearchForm(formdata=None, data={"q": request.form.get("q", "")})
    try:
        if not raw.isdigit() or len(raw) > 9:
            raise ValidationFailed({"customer_id": "No such customer."})
        customer = get_by_id(Customer, int(raw))
        prop.add_owner(flat, int(raw), actor=viewer())
    except ValidationFailed as exc:
        show_errors(search_form, exc, {"customer_id": "q"})
        return _apartment_page(flat, search_form=search_form, status=422)
    flash(_("%(name)s is an owner of the apartment now.", name=customer.name), "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id,
                            _anchor="owners"), code=303)


@bp.post("/apartments/<int:apartment_id>/owners/<int:customer_id>/delete")
@manage_required
def remove_owner(apartment_id: int, customer_id: int):
    flat = _apartment_or_404(apartment_id)
    customer = get_by_id(Customer, customer_id)
    try:
        prop.remove_owner(flat, customer_id, actor=viewer())
    except NotFound:
        abort(404)
    flash(_("%(name)s no longer owns the apartment.", name=customer.name if customer else ""),
          "success")
    return redirect(url_for("warranty_admin.apartment", apartment_id=flat.id,
                            _anchor="owners"), code=303)


# -- import ---------------------------------------------------------------------------


def _describe(error: importer.RowError) -> str:
    def where(line: int | None, column: str) -> str:
        if line is None:
            return column
        if column:
            return _("line %(line)s, %(column)s", line=line, column=column)
        return _("line %(line)s", line=line)

    return error.text(translate=i18n.translate_message, where=where)


@bp.route("/import", methods=["GET", "POST"])
@manage_required
def import_page():
    form = ImportForm() if request.method == "POST" else ImportForm(formdata=None)
    result = None
    status = 200
    if request.method == "POST" and form.validate():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors = [_("Choose a CSV file.")]
            status = 422
        else:
            try:
                result = importer.import_csv(upload, actor=viewer(),
                                             dry_run=bool(form.dry_run.data))
            except PermissionDenied:
                abort(403)
            status = 200 if result.ok else 422
    elif request.method == "POST":
        status = 422
    return render_template(
        "warranty/admin/import.html", form=form, result=result,
        errors=[_describe(e) for e in result.errors] if result else [],
        columns=importer.COLUMNS, required=importer.REQUIRED_COLUMNS,
        max_rows=importer.MAX_ROWS, max_mb=importer.MAX_BYTES // (1024 * 1024),
    ), status


SAMPLE = (
    "house,address,warranty_until,apartment,floor,owner_phone,owner_email\r\n"
    "\"Sunny Park, building 1\",\"1 Sunny St.\",2027-12-31,1,1,,\r\n"
    "\"Sunny Park, building 1\",,,2,1,+7 912 345-67-89,\r\n"
    "\"Sunny Park, building 2\",\"3 Sunny St.\",31.12.2028,15,4,,buyer@example.com\r\n"
)


@bp.get("/import/sample.csv")
@manage_required
def import_sample():
    """A small file to start from: the columns and a row of each kind."""
    return Response(SAMPLE.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=houses-sample.csv"})
