"""Contacts by category and outcome over a period, with the conversion rate of
targeted contacts into service requests (S3). The page, its CSV and the API
read the same ``build``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from kernel import permissions
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, TicketType, User
from plugins.autoservice import CATEGORY_FIELD, CONTACT_TYPE, categories, classify
from plugins.autoservice.models import ContactRecord

MAX_DAYS = 366
PERMISSION = "reports.view"


def parse_period(raw_from: Any, raw_to: Any, today: date | None = None) -> tuple[date, date]:
    """``from``/``to`` as ISO dates (inclusive); default: the last 30 days."""
    today = today or datetime.now(classify.zone()).date()
    errors: dict[str, str] = {}

    def one(raw, key, default):
        if raw in (None, ""):
            return default
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            errors[key] = N_("Not a date (YYYY-MM-DD).")
            return default

    end = one(raw_to, "to", today)
    start = one(raw_from, "from", end - timedelta(days=29))
    if not errors and start > end:
        errors["from"] = N_("The start is after the end.")
    if not errors and (end - start).days >= MAX_DAYS:
        errors["to"] = N_("At most 366 days.")
    if errors:
        raise ValidationFailed(errors)
    return start, end


def build(start: date, end: date, actor: User | None = None) -> dict[str, Any]:
    permissions.require(actor, PERMISSION)
    tz = classify.zone()
    since = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    rows = db.session.execute(
        select(Ticket.id, Ticket.values, ContactRecord.outcome,
               ContactRecord.service_request_id)
        .join(TicketType, Ticket.type_id == TicketType.id)
        .outerjoin(ContactRecord, ContactRecord.ticket_id == Ticket.id)
        .where(TicketType.key == CONTACT_TYPE, Ticket.created_at >= since,
               Ticket.created_at < until)).all()
    cats = {c.value: c for c in categories.categories()}
    outs = {o.value: o for o in categories.outcomes()}
    counts: dict[tuple[str, str], int] = {}
    by_category: dict[str, int] = {}
    targeted = converted = 0
    for _id, values, outcome, request_id in rows:
        category = (values or {}).get(CATEGORY_FIELD) or ""
        key = (category, outcome or "")
        counts[key] = counts.get(key, 0) + 1
        by_category[category] = by_category.get(category, 0) + 1
        if category in cats and cats[category].kind == "targeted":
            targeted += 1
            converted += 1 if request_id else 0
    order = [c.value for c in cats.values()] + [""]
    lines = []
    for (category, outcome), n in sorted(
            counts.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order
                                            else len(order), kv[0][1])):
        lines.append({
            "category": category or None,
            "category_label": cats[category].label if category in cats else "",
            "outcome": outcome or None,
            "outcome_label": outs[outcome].label if outcome in outs else "",
            "contacts": n,
        })
    totals = [{"category": c or None, "category_label": cats[c].label if c in cats else "",
               "contacts": by_category[c]}
              for c in sorted(by_category, key=lambda c: order.index(c) if c in order
                              else len(order))]
    return {
        "from": start, "to": end, "contacts": len(rows), "rows": lines,
        "categories": totals, "targeted": targeted, "converted": converted,
        "conversion_rate": round(converted / targeted, 4) if targeted else None,
    }


def as_table(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``ReportDecl`` form: ``{"columns", "rows"}`` for ``params`` ``from``/``to``."""
    params = params or {}
    start, end = parse_period(params.get("from"), params.get("to"))
    data = build(start, end, actor=params.get("actor"))
    return {"columns": ["category", "outcome", "contacts"],
            "rows": [[r["category"], r["outcome"], r["contacts"]] for r in data["rows"]],
            "targeted": data["targeted"], "converted": data["converted"],
            "conversion_rate": data["conversion_rate"]}
