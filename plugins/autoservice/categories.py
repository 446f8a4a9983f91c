"""The category dictionary (S2, S5): categories grouped, ordered, shown or
hidden, each with its own outcomes — kernel choice lists ``autoservice.categories``
and ``autoservice.outcomes`` (an outcome's ``parent`` is its category). What a
category is (targeted, automatic, other) and what an outcome does live in the
items' ``data``, so an admin changes them without code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String as SqlString
from sqlalchemy import cast, select

from kernel import declarations as d
from kernel import permissions
from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.i18n import N_
from kernel.models import ChoiceItem, ChoiceList, Ticket, User
from kernel.services import fields as field_service
from kernel.services.audit import audited
from kernel.services.uow import unit_of_work
from plugins.autoservice import CATEGORIES, CATEGORY_FIELD, CONTACT_TYPE, GROUP, OUTCOMES

KINDS = ("targeted", "automatic", "other")
EDITABLE_KINDS = ("targeted", "other")
EFFECTS = ("convert", "convert_reserve", "convert_no_reserve", "convert_sale", "postpone",
           "redirect", "refuse", "close")
CONVERTING = ("convert", "convert_reserve", "convert_no_reserve", "convert_sale")
EFFECT_LABELS = {
    "convert": N_("Convert: the customer is booked"),
    "convert_reserve": N_("Convert and record a parts reserve"),
    "convert_no_reserve": N_("Convert: awaiting the customer without a reserve"),
    "convert_sale": N_("Convert: sale made"),
    "postpone": N_("Keep open with a follow-up time"),
    "redirect": N_("Hand over to another agent"),
    "refuse": N_("Close as refused"),
    "close": N_("Close without conversion"),
}
KIND_LABELS = {"targeted": N_("Targeted"), "automatic": N_("Automatic"), "other": N_("Other")}
MANAGE = "admin.settings"  # the kernel's dictionary edits need it too


@dataclass(frozen=True)
class Category:
    value: str
    label: str
    group: str
    kind: str
    rule: str | None
    allow_manual: bool
    visible: bool
    order: int
    item_id: int

    @property
    def automatic(self) -> bool:
        return self.kind == "automatic"


@dataclass(frozen=True)
class Outcome:
    value: str
    label: str
    category: str
    effect: str
    visible: bool
    order: int
    item_id: int

    @property
    def converts(self) -> bool:
        return self.effect in CONVERTING


def _items(key: str) -> list[ChoiceItem]:
    clist = db.session.scalar(select(ChoiceList).where(ChoiceList.key == key))
    return [] if clist is None else sorted(clist.items, key=lambda i: (i.order, i.id))


def categories(visible_only: bool = False) -> list[Category]:
    found = []
    for item in _items(CATEGORIES):
        data = item.data or {}
        kind = data.get("kind") if data.get("kind") in KINDS else "other"
        if visible_only and not item.visible:
            continue
        found.append(Category(item.value, item.label, item.group or "", kind, data.get("rule"),
                              bool(data.get("allow_manual")), item.visible, item.order,
                              item.id))
    return found


def category(value: str | None) -> Category | None:
    return next((c for c in categories() if c.value == value), None)


def by_rule(rule: str) -> Category | None:
    return next((c for c in categories() if c.rule == rule), None)


def outcomes(category_value: str | None = None, visible_only: bool = False) -> list[Outcome]:
    found = []
    for item in _items(OUTCOMES):
        if category_value is not None and item.parent != category_value:
            continue
        if visible_only and not item.visible:
            continue
        effect = (item.data or {}).get("effect")
        found.append(Outcome(item.value, item.label, item.parent or "",
                             effect if effect in EFFECTS else "close", item.visible,
                             item.order, item.id))
    return found


def outcome(value: str | None) -> Outcome | None:
    return next((o for o in outcomes() if o.value == value), None)


def grouped(visible_only: bool = False) -> list[tuple[str, list[Category]]]:
    groups: dict[str, list[Category]] = {}
    for cat in categories(visible_only):
        groups.setdefault(cat.group, []).append(cat)
    return list(groups.items())


# -- kernel hooks ----------------------------------------------------------------------


def field_choices(field: Any, customer: Any, ticket: Ticket | None, purpose: str):
    """Offer only the categories an operator may pick by hand: visible, and not
    automatic unless the admin allows it (the automatic one the rules chose is
    accepted on ``check``; ``classify.validate`` says why another is refused)."""
    if getattr(field, "key", None) != CATEGORY_FIELD:
        return None
    if purpose == "check":
        return [(c.value, c.label) for c in categories()]
    current = ticket.value(CATEGORY_FIELD) if ticket is not None else None
    return [(c.value, c.label) for c in categories()
            if c.value == current or (c.visible and (not c.automatic or c.allow_manual))]


def has_category(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    """The contact's category is one of ``categories``."""
    wanted = {str(c) for c in params.get("categories") or []}
    return ticket.type.key == CONTACT_TYPE and ticket.value(CATEGORY_FIELD) in wanted


def has_outcome(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    """The contact's recorded outcome is one of ``outcomes``."""
    from plugins.autoservice.models import ContactRecord

    wanted = {str(o) for o in params.get("outcomes") or []}
    if not wanted or ticket.type.key != CONTACT_TYPE:
        return False
    record = db.session.get(ContactRecord, ticket.id)
    return record is not None and record.outcome in wanted


def category_was_automatic(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    from plugins.autoservice.models import ContactRecord

    record = db.session.get(ContactRecord, ticket.id)
    return (record is not None and record.auto_category is not None
            and record.auto_category == ticket.value(CATEGORY_FIELD))


def trigger_conditions() -> list[d.TriggerConditionDecl]:
    return [
        d.TriggerConditionDecl(
            "autoservice.category", N_("The contact's category is one of"), has_category,
            params=[d.FieldDecl("categories", "multi_choice", N_("Contact categories"),
                                required=True, choice_list=CATEGORIES)]),
        d.TriggerConditionDecl(
            "autoservice.outcome", N_("The contact's outcome is one of"), has_outcome,
            params=[d.FieldDecl("outcomes", "multi_choice", N_("Contact outcomes"),
                                required=True, choice_list=OUTCOMES)]),
        d.TriggerConditionDecl(
            "autoservice.automatic", N_("The contact's category was chosen automatically"),
            category_was_automatic),
    ]


def _category_clause(value: str):
    return cast(Ticket.values[CATEGORY_FIELD].as_string(), SqlString) == value


def _outcome_clause(value: str):
    from plugins.autoservice.models import ContactRecord

    return Ticket.id.in_(select(ContactRecord.ticket_id).where(ContactRecord.outcome == value))


def ticket_filters() -> list[d.TicketFilterDecl]:
    return [
        d.TicketFilterDecl("autoservice.category", N_("Contact category"),
                           lambda: [(c.value, c.label) for c in categories()],
                           _category_clause, ticket_types=(CONTACT_TYPE,), order=10),
        d.TicketFilterDecl("autoservice.outcome", N_("Contact outcome"),
                           lambda: [(o.value, o.label) for o in outcomes()],
                           _outcome_clause, ticket_types=(CONTACT_TYPE,), order=11),
    ]


# -- the admin's edits (S5) ------------------------------------------------------------


def _label(raw: Any, key: str = "label") -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationFailed({key: N_("Give a name.")})
    if len(text) > 200:
        raise ValidationFailed({key: N_("At most 200 characters.")})
    return text


def _new_value(prefix: str, taken: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _set_data(list_key: str, value: str, data: dict[str, Any]) -> None:
    item = next(i for i in _items(list_key) if i.value == value)
    item.data = {**(item.data or {}), **data}


@audited("autoservice.category_saved")
def save_category(data: dict[str, Any], value: str | None = None,
                  actor: User | None = None) -> Category:
    """Add a category (``value`` None) or rename / regroup / show / hide one; for an
    automatic category ``allow_manual`` lets operators choose it by hand."""
    permissions.require(actor, MANAGE)
    existing = category(value) if value is not None else None
    if value is not None and existing is None:
        raise NotFound("Unknown category.")
    label = _label(data.get("label"))
    group = (data.get("group") or "").strip()[:200] or (existing.group if existing else GROUP)
    visible = bool(data.get("visible", True))
    if existing is None:
        kind = data.get("kind") or "targeted"
        if kind not in EDITABLE_KINDS:
            raise ValidationFailed({"kind": N_("Choose targeted or other.")})
    else:
        kind = existing.kind
        if "kind" in data and data["kind"] and data["kind"] != kind:
            if kind == "automatic" or data["kind"] not in EDITABLE_KINDS:
                raise ValidationFailed({"kind": N_("An automatic category stays automatic.")})
            kind = data["kind"]
    if existing is not None and label == existing.label:
        label = existing.label
    with unit_of_work():
        key = value or _new_value("category", {c.value for c in categories()})
        field_service.save_choice(CATEGORIES, key, label, actor=actor, group=group,
                                  visible=visible)
        _set_data(CATEGORIES, key, {
            "kind": kind, "rule": existing.rule if existing else None,
            "allow_manual": bool(data.get("allow_manual")) if kind == "automatic" else False})
    return category(key)


@audited("autoservice.outcome_saved")
def save_outcome(category_value: str, data: dict[str, Any], value: str | None = None,
                 actor: User | None = None) -> Outcome:
    """Add an outcome to a category (``value`` None) or rename / show / hide one and
    change what it does."""
    permissions.require(actor, MANAGE)
    cat = category(category_value)
    if cat is None:
        raise NotFound("Unknown category.")
    existing = outcome(value) if value is not None else None
    if value is not None and (existing is None or existing.category != cat.value):
        raise NotFound("Unknown outcome.")
    label = _label(data.get("label"))
    effect = data.get("effect") or (existing.effect if existing else "")
    if effect not in EFFECTS:
        raise ValidationFailed({"effect": N_("Choose what the outcome does.")})
    if cat.automatic:
        raise ValidationFailed({"category": N_("Automatic categories have no outcomes.")})
    with unit_of_work():
        key = value or _new_value(f"{cat.value}.outcome", {o.value for o in outcomes()})
        field_service.save_choice(OUTCOMES, key, label, actor=actor, parent=cat.value,
                                  visible=bool(data.get("visible", True)))
        _set_data(OUTCOMES, key, {"effect": effect})
    return outcome(key)


@audited("autoservice.category_moved")
def move(list_key: str, value: str, offset: int, actor: User | None = None) -> None:
    """Move a category up or down, or an outcome within its category."""
    permissions.require(actor, MANAGE)
    if list_key == CATEGORIES:
        order = [c.value for c in categories()]
    else:
        found = outcome(value)
        if found is None:
            raise NotFound("Unknown outcome.")
        siblings = [o.value for o in outcomes(found.category)]
        others = [o.value for o in outcomes() if o.category != found.category]
        order = siblings
    if value not in order:
        raise NotFound("Unknown item.")
    i = order.index(value)
    j = max(0, min(len(order) - 1, i + offset))
    order[i], order[j] = order[j], order[i]
    if list_key != CATEGORIES:
        order = order + others
    field_service.reorder_choices(list_key, order, actor=actor)

