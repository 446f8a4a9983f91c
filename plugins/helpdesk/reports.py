"""The campaign report (seed 001, A7): tickets per advertising campaign over a
period, and the share of them that ended in success, in failure or are still
open — by the group of the status each ticket is in now. One GROUP BY query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, cast, func, select

from kernel import declarations as d
from kernel.db import db
from kernel.i18n import N_
from kernel.models import ChoiceItem, ChoiceList, Status, Ticket, TicketType
from kernel.services import reports

FIELD = "campaign"
CHOICE_LIST = "campaigns"
KEY = "helpdesk.campaigns"

COLUMNS = [
    d.ReportColumn("campaign", N_("Campaign"), "label"),
    d.ReportColumn("tickets", N_("Tickets"), "count"),
    d.ReportColumn("success", N_("Ended in success"), "count"),
    d.ReportColumn("failure", N_("Ended in failure"), "count"),
    d.ReportColumn("open", N_("Still open"), "count"),
    d.ReportColumn("success_share", N_("Success share"), "share"),
    d.ReportColumn("failure_share", N_("Failure share"), "share"),
    d.ReportColumn("open_share", N_("Open share"), "share"),
]


def _campaign_labels() -> dict[str, str]:
    return dict(db.session.execute(
        select(ChoiceItem.value, ChoiceItem.label)
        .join(ChoiceList, ChoiceItem.list_id == ChoiceList.id)
        .where(ChoiceList.key == CHOICE_LIST)).all())


def _ticket_types() -> list[tuple[str, str]]:
    return [(key, name) for key, name in db.session.execute(
        select(TicketType.key, TicketType.name).where(TicketType.is_active.is_(True))
        .order_by(TicketType.order, TicketType.key))]


def build(params: dict[str, Any]) -> dict[str, Any]:
    since, until = reports.bounds(params)
    campaign = cast(Ticket.values[FIELD].as_string(), String)
    query = (
        select(campaign.label("campaign"),
               func.count(Ticket.id),
               func.sum(case((Status.group == "closed_success", 1), else_=0)),
               func.sum(case((Status.group == "closed_failure", 1), else_=0)),
               func.sum(case((Status.group == "open", 1), else_=0)))
        .join(Status, Ticket.status_id == Status.id)
        .where(Ticket.created_at >= since, Ticket.created_at < until)
        .group_by(campaign))
    wanted_type = params.get("filters", {}).get("type")
    if wanted_type:
        query = query.join(TicketType, Ticket.type_id == TicketType.id).where(
            TicketType.key == wanted_type)
    labels = _campaign_labels()
    order = {value: i for i, value in enumerate(labels)}
    rows = []
    for value, total, success, failure, still_open in db.session.execute(query):
        value = value or None  # JSON null and "" both mean "not set"
        rows.append([value, total, success or 0, failure or 0, still_open or 0,
                     reports.share(success, total), reports.share(failure, total),
                     reports.share(still_open, total)])
    # The same campaign may come back twice (NULL and ""): merge, then sort by size.
    merged: dict[str | None, list[Any]] = {}
    for row in rows:
        prev = merged.get(row[0])
        if prev is None:
            merged[row[0]] = row
        else:
            counts = [a + b for a, b in zip(prev[1:5], row[1:5], strict=True)]
            merged[row[0]] = [row[0], *counts, *(reports.share(n, counts[0])
                                                   for n in counts[1:])]
    ordered = sorted(merged.values(), key=lambda r: (-r[1], r[0] is None,
                                                      order.get(r[0], len(order)), r[0] or ""))
    for row in ordered:
        row[0] = labels.get(row[0], row[0]) if row[0] is not None else None
    return {"columns": [c.key for c in COLUMNS], "rows": ordered,
            "tickets": sum(r[1] for r in ordered)}


def declaration() -> d.ReportDecl:
    return d.ReportDecl(
        KEY, N_("Campaign effectiveness"), build,
        description=N_("Tickets per advertising campaign and the share that ended in "
                       "success, in failure or is still open."),
        columns=COLUMNS,
        filters=[d.ReportFilter("type", N_("Ticket type"), _ticket_types)],
        chart=d.ReportChart(label=("campaign",), values=("success", "failure", "open"),
                            colors=("#16a34a", "#dc2626", "#2563eb")))
