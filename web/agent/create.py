"""A ticket created by hand (A2): type, customer name and phone — with an offer
to link an existing customer whose phone matches exactly, or to add a new
customer with several phones — and the fields of the type's form. Existing
customers are shown only to agents who may see customers (A3)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, SelectField, StringField, TelField, TextAreaField

from kernel import fieldset, permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import Customer, Setting, TicketType
from kernel.services import customers, tickets
from kernel.services.uow import unit_of_work
from web import form_sections, i18n
from web.agent import bp
from web.agent.common import agents, can_see_customers
from web.auth import permission_required, viewer
from web.customer_contact import NAME_FIELD, PHONE_FIELD
from web.forms import TicketForm, apply_errors, options, ticket_form_class


class NewTicketBase(TicketForm):
    """The page's own inputs; the ticket type's fields are added after them."""

    customer_name = StringField(_l("Customer name"), render_kw={"maxlength": 200,
                                                                "autocomplete": "off"})
    customer_phone = TelField(_l("Phone"), render_kw={"autocomplete": "off",
                                                      "data-phone-lookup": ""})
    customer_id = StringField()  # radios on the page (the offer to link)
    add_customer = BooleanField(_l("Add customer to the base"))
    add_anyway = BooleanField(_l("Add a second customer with this phone anyway"))
    more_phones = TextAreaField(_l("More phones"), description=_l("One number a line."),
                                render_kw={"rows": 2})
    manager = SelectField(_l("Manager"), validate_choice=False)


def _types() -> list[TicketType]:
    return list(db.session.scalars(
        db.select(TicketType).where(TicketType.is_active.is_(True))
        .order_by(TicketType.order, TicketType.name)))


def _chosen_type(types: list[TicketType]) -> TicketType | None:
    wanted = request.values.get("type")
    if not wanted:
        setting = db.session.get(Setting, "kernel.default_ticket_type")
        wanted = setting.value if setting else None
    return next((t for t in types if t.key == wanted), types[0] if types else None)


def _form(ttype: TicketType, **kwargs):
    user = viewer()
    cls = ticket_form_class(ttype, "agent", actor=user, base=NewTicketBase,
                            exclude=("customer", "assignee", NAME_FIELD, PHONE_FIELD))
    form = cls(**kwargs)
    form.manager.choices = options([("", "—")] + [(a.id, a.name or a.email) for a in agents()])
    if request.method == "GET":
        form.manager.data = str(user.id)  # seed 001: the creator by default
    return form


def _matches(phone: str) -> list[Customer]:
    if not phone.strip() or not can_see_customers(viewer()):
        return []
    try:
        return customers.find_by_phone(phone, viewer=viewer())
    except ValidationFailed:
        return []


def _linked(form) -> Customer | None:
    raw = (form.customer_id.data or "").strip()
    if not raw or not can_see_customers(viewer()):
        return None
    try:
        return customers.get(int(raw), viewer()) if raw.isdigit() else None
    except (NotFound, PermissionDenied):
        return None


@bp.route("/tickets/new", methods=["GET", "POST"])
@permission_required("tickets.create")
def new_ticket():
    user = viewer()
    types = _types()
    ttype = _chosen_type(types)
    if ttype is None:
        abort(404)
    form = _form(ttype)
    sections = form_sections.for_form(ttype, user)
    linked = _linked(form) if request.method == "POST" else None
    matches: list[Customer] = []
    status = 200
    if request.method == "POST" and request.form.get("action") != "lookup":
        sections.parse()  # with the fields' own errors, all problems show at once
    if request.method == "POST" and form.validate():
        if request.form.get("action") == "lookup":
            matches = _matches(form.customer_phone.data or "")
            if not matches:
                flash(_("No customer has this phone."), "info")
        else:
            ticket = _create(form, ttype, linked, sections)
            if ticket is not None:
                flash(_("Ticket %(number)s is created.", number=ticket.number), "success")
                return redirect(url_for("agent.ticket", ticket_id=ticket.id), code=303)
            status = 422
    elif request.method == "POST":
        status = 400
    if request.method == "POST" and not matches and linked is None:
        matches = _matches(form.customer_phone.data or "")
        if getattr(form, "duplicate_phone", False):
            for line in (form.more_phones.data or "").splitlines():
                matches += [c for c in _matches(line) if c not in matches]
    return render_template(
        "agent/new.html", form=form, types=types, ttype=ttype, matches=matches, linked=linked,
        can_see=can_see_customers(user), can_add=permissions.has(user, "customers.edit"),
        duplicate_phone=getattr(form, "duplicate_phone", False),
        sections=sections.html(ttype, user), sections_failed=sections.failed,
    ), status


def _create(form, ttype: TicketType, linked: Customer | None, sections: form_sections.Sections):
    """Create the ticket (and the new customer) in one transaction; None and
    errors on the form when refused."""
    user = viewer()
    values = form.ticket_values()
    keys = {f.key for f in fieldset.for_type(ttype, "agent")}
    name = (form.customer_name.data or "").strip()
    phone = (form.customer_phone.data or "").strip()
    if NAME_FIELD in keys and name:
        values[NAME_FIELD] = name
    if PHONE_FIELD in keys and phone:
        values[PHONE_FIELD] = phone
    manager = form.manager.data or ""
    values["assignee"] = int(manager) if manager.isdigit() else None
    adding = bool(form.add_customer.data) and linked is None
    if adding and not permissions.has(user, "customers.edit"):
        form.add_customer.errors = [_("You are not allowed to add customers.")]
        return None
    more = [line.strip() for line in (form.more_phones.data or "").splitlines() if line.strip()]
    if _would_drop(form, keys, name, phone, more, adding):
        return None
    if adding and not form.add_anyway.data and _taken(form, [phone, *more]):
        return None
    try:
        with unit_of_work():
            if adding:
                try:
                    customer = customers.create({"name": name, "phones": [phone, *more]},
                                                actor=user)
                except ValidationFailed as exc:
                    _customer_errors(form, exc, bool(phone))
                    raise
                values["customer"] = customer.id
            elif linked is not None:
                values["customer"] = linked.id
            ticket = tickets.create(values, actor=user, type=ttype.key,
                                    field_files=form.uploads())
            if sections.failed:  # roll back: the sections' own errors are shown
                raise ValidationFailed({})
            sections.save(ticket, user)
            return ticket
    except ValidationFailed as exc:
        exc = ValidationFailed(sections.take(exc))
        if not adding or not any(f.errors for f in (form.customer_name, form.customer_phone,
                                                    form.more_phones)):
            apply_errors(form, exc, {NAME_FIELD: "customer_name", PHONE_FIELD: "customer_phone",
                                     "assignee": "manager"})
        return None


KEPT_ONLY_WITH_A_CUSTOMER = _l("This is kept only with a new customer: tick “Add customer to "
                               "the base” or clear the field.")


def _would_drop(form, keys: set[str], name: str, phone: str, more: list[str],
                adding: bool) -> bool:
    """Refuse rather than lose what was typed: more phones are kept only on a new
    customer, and a name or phone only when the type has a field for it."""
    if adding:
        return False
    dropped = [(more, form.more_phones)]
    if _unlinked(form):
        dropped += [(name and NAME_FIELD not in keys, form.customer_name),
                    (phone and PHONE_FIELD not in keys, form.customer_phone)]
    refused = False
    for typed, field in dropped:
        if typed:
            field.errors = [*field.errors, str(KEPT_ONLY_WITH_A_CUSTOMER)]
            refused = True
    return refused


def _unlinked(form) -> bool:
    return not (form.customer_id.data or "").strip()


def _taken(form, typed: list[str]) -> bool:
    """A new customer whose phone another customer has: warn and offer that one
    (the offer is shown with the matches) unless "add anyway" is ticked."""
    if not can_see_customers(viewer()):
        return False
    holders = {c.id: c for number in typed if number for c in _matches(number)}
    if not holders:
        return False
    form.customer_phone.errors = [*form.customer_phone.errors, _(
        "Another customer has this phone: link the ticket to them, or tick “Add a second "
        "customer with this phone anyway”.")]
    form.duplicate_phone = True
    return True


def _customer_errors(form, exc: ValidationFailed, first_is_phone: bool) -> None:
    for key, messages in i18n.translate_errors(exc.errors).items():
        if key == "name":
            form.customer_name.errors = [*form.customer_name.errors, *messages]
        elif key.startswith("phones"):
            index = key.split(".", 1)[1] if "." in key else "0"
            target = form.customer_phone if index == "0" and first_is_phone else form.more_phones
            target.errors = [*target.errors, *messages]
        else:
            form.form_errors.extend(messages)


@bp.get("/customers/lookup")
@permission_required("tickets.create")
def customer_lookup():
    """JSON for the "link an existing customer" offer: customers whose phone is
    exactly this one. 403 without "can see customers"."""
    user = viewer()
    if not can_see_customers(user):
        return jsonify(error=_("You are not allowed to see customers.")), 403
    phone = request.args.get("phone", "")
    try:
        found = customers.find_by_phone(phone, viewer=user)
    except ValidationFailed as exc:
        messages = i18n.translate_errors(exc.errors).get("phone", [])
        return jsonify(error=" ".join(messages), customers=[]), 422
    from kernel import phones as phone_lib

    rows = []
    for c in found:
        count = len(customers.open_tickets(c))
        rows.append({"id": c.id, "name": c.name,
                     "phones": [phone_lib.display(p.number) for p in c.phones],
                     "open_tickets": count,
                     # Plural forms come from the catalogue: 1 заявка, 3 заявки, 5 заявок.
                     "open_label": ngettext("%(num)d open ticket", "%(num)d open tickets",
                                            count)})
    return jsonify(customers=rows)


def customer_of(customer_id: int) -> Customer | None:
    return get_by_id(Customer, customer_id)
