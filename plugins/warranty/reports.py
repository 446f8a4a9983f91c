"""Warranty claims by category and house over a period, with how many are
resolved, rejected or still open (by the group of each claim's status now).
One GROUP BY query; the house comes through the claim's apartment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, cast, func, select

from kernel import declarations as d
from kernel.db import db
from kernel.i18n import N_
from kernel.models import Status, Ticket, TicketType
from kernel.services import reports
from plugins.warranty import CLAIM_TYPE, defects
from plugins.warranty.models import Apartment, House
from plugins.warranty.property import APARTMENT_FIELD

KEY = "warranty.claims"
CATEGORY_FIELD = "claim_category"
CATEGORIES = "warranty.claim_categories"

COLUMNS = [
    d.ReportColumn("house", N_("House"), "text"),
    d.ReportColumn("category", N_("Claim category"), "label"),
    d.ReportColumn("claims", N_("Claims"), "count"),
    d.ReportColumn("resolved", N_("Resolved"), "count"),
    d.ReportColumn("rejected", N_("Rejected"), "count"),
    d.ReportColumn("open", N_("Still open"), "count"),
]


def _categories() -> list[tuple[str, str]]:
    return defects._list_items(CATEGORIES)


def _houses() -> list[tuple[str, str]]:
    return [(str(h.id), h.name) for h in db.session.scalars(select(House).order_by(House.name))]


def build(params: dict[str, Any]) -> dict[str, Any]:
    since, until = reports.bounds(params)
    chosen = params.get("filters", {})
    category = cast(Ticket.values[CATEGORY_FIELD].as_string(), String)
    apartment = cast(Ticket.values[APARTMENT_FIELD].as_string(), String)
    query = (
        select(House.id, House.name, category.label("category"),
               func.count(Ticket.id),
               func.sum(case((Status.group == "closed_success", 1), else_=0)),
               func.sum(case((Status.group == "closed_failure", 1), else_=0)),
               func.sum(case((Status.group == "open", 1), else_=0)))
        .join(TicketType, Ticket.type_id == TicketType.id)
        .join(Status, Ticket.status_id == Status.id)
        .outerjoin(Apartment, cast(Apartment.id, String) == apartment)
        .outerjoin(House, Apartment.house_id == House.id)
        .where(TicketType.key == CLAIM_TYPE, Ticket.created_at >= since,
               Ticket.created_at < until)
        .group_by(House.id, House.name, category)
        .order_by(House.name, category))
    if chosen.get("house"):
        query = query.where(House.id == int(chosen["house"]))
    if chosen.get("category"):
        query = query.where(category == chosen["category"])
    labels = dict(_categories())
    rows = [[house or None, labels.get(cat, cat) if cat else None, total, done or 0,
             rejected or 0, still_open or 0]
            for _id, house, cat, total, done, rejected, still_open in db.session.execute(query)]
    return {"columns": [c.key for c in COLUMNS], "rows": rows,
            "claims": sum(r[2] for r in rows)}


def declaration() -> d.ReportDecl:
    return d.ReportDecl(
        KEY, N_("Warranty claims by category and house"), build,
        description=N_("Claims filed in the period, per house and category, and how many "
                       "are resolved, rejected or still open."),
        columns=COLUMNS,
        filters=[d.ReportFilter("house", N_("House"), _houses),
                 d.ReportFilter("category", N_("Claim category"), _categories)],
        chart=d.ReportChart(label=("house", "category"), values=("resolved", "rejected", "open"),
                            colors=("#16a34a", "#dc2626", "#2563eb")))
