"""The ticket table (A1): filters, search, sortable columns, pages, and the
"Overdue" / "Urgent" badges with counters that act as filters."""

from __future__ import annotations

from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from kernel import fieldset, runtime, visibility
from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.models import TicketType
from kernel.services import queries, users
from web import dates
from web.agent import bp
from web.agent.common import agents, can_see_customers, table_url
from web.auth import permission_required, viewer
from web.params import checked_sort, page_arg

FIXED_SORTS = {"number", "subject", "status", "created_at", "deadline"}


def _date(name: str, errors: dict[str, str]) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    found = dates.parse(raw)
    if isinstance(found, datetime):
        found = found.date()
    if found is None:
        errors[name] = _("Enter a date like %(example)s.", example=dates.format_date("2024-05-31"))
    return found


def read_filter(user) -> tuple[queries.TicketFilter, dict[str, str]]:
    """The table's filter from the query string; errors by argument name."""
    args = request.args
    errors: dict[str, str] = {}
    state = args.get("state", "open")
    if state not in ("open", "closed", "all"):
        state = "open"
    flt = queries.TicketFilter(state=state)
    if args.get("type"):
        flt.types = [args["type"]]
    if args.get("status"):
        flt.statuses = [args["status"]]
    assignee = args.get("assignee", "")
    if assignee == "mine":
        flt.assignee_id = user.id
    elif assignee.isdigit():
        flt.assignee_id = int(assignee)
    if args.get("queue"):
        flt.queue = args["queue"]
    if args.get("urgent") == "1":
        flt.urgent = True
    if args.get("overdue") == "1":
        flt.overdue = True
        flt.state = "open"
    for key, entry in runtime.host().registry.ticket_filters.items():
        value = args.get(f"f.{key}")
        if value and value in {str(v) for v, _label in entry.decl.choices()}:
            flt.extra[key] = value
    flt.search = (args.get("q") or "").strip()[:200] or None
    flt.created_from = _date("created_from", errors)
    flt.created_to = _date("created_to", errors)
    if flt.created_from and flt.created_to and flt.created_from > flt.created_to:
        errors["created_to"] = _("The end of the period is before its start.")
        flt.created_to = None
    return flt, errors


def available_columns(user, ticket_type: TicketType | None) -> list[fieldset.Field]:
    """Fields that may be columns of the list (of the chosen type, or of any type)."""
    found = (fieldset.for_type(ticket_type, "agent") if ticket_type is not None
             else fieldset.all_fields())
    # Always shown in their own columns; "urgent" is a badge and a stripe on the row.
    hidden = {"subject", "deadline", "urgent"}
    if not can_see_customers(user):
        hidden.add("customer")
    return [f for f in found if f.key not in hidden and f.type not in ("file", "long_text")]


def list_columns(user, ticket_type: TicketType | None,
                 types_shown: set[str] | None = None) -> list[fieldset.Field]:
    """The columns ``user`` sees: their own choice and order when they made one,
    else the fields shown in lists; a field of types none of the rows has
    (``types_shown``) is left out, so one plugin's columns do not widen a table
    of other tickets."""
    found = available_columns(user, ticket_type)
    chosen = users.table_columns(user)
    if chosen is None:
        columns = [f for f in found if f.shown_in_list]
    else:
        by_key = {f.key: f for f in found}
        columns = [by_key[k] for k in chosen if k in by_key]
    if types_shown is not None:
        columns = [f for f in columns if not f.ticket_types or set(f.ticket_types) & types_shown]
    return columns


def plugin_filter_choices(chosen: TicketType | None) -> list[tuple[str, str, list]]:
    """``(key, label, choices)`` of the plugins' filters that apply to the chosen type."""
    found = []
    entries = sorted(runtime.host().registry.ticket_filters.items(),
                     key=lambda kv: (kv[1].decl.order, kv[0]))
    for key, entry in entries:
        types = entry.decl.ticket_types
        if types and chosen is not None and chosen.key not in types:
            continue
        found.append((key, entry.decl.label,
                      [(str(v), lbl) for v, lbl in entry.decl.choices()]))
    return found


@bp.get("/")
@permission_required("tickets.view")
def index():
    """The ticket table (A1)."""
    user = viewer()
    flt, errors = read_filter(user)
    # The filter's choices: the types alone (their pipelines only for the chosen one).
    types = list(db.session.scalars(
        db.select(TicketType).where(TicketType.is_active.is_(True))
        .options(lazyload("*")).order_by(TicketType.order, TicketType.name)))
    chosen = next((t for t in types if t.key == request.args.get("type")), None)
    columns = list_columns(user, chosen)
    sortable = visibility.sortable(
        user, FIXED_SORTS | {c.key for c in columns if c.key in queries.sort_keys()})
    sort = checked_sort(request.args.get("sort"), sortable)
    page_no = page_arg()
    try:
        page = queries.list_tickets(user, flt, sort=sort, page=page_no,
                                    per_page=user.page_size or 20)
    except ValidationFailed:
        page = queries.list_tickets(user, queries.TicketFilter(state=flt.state), sort=sort,
                                    page=1, per_page=user.page_size or 20)
    if chosen is None:
        columns = list_columns(user, None, {t.type.key for t in page.items})
    statuses = []
    if chosen is not None:
        statuses = chosen.pipeline.active_statuses
    queue_field = next((f for f in fieldset.all_fields() if f.key == "queue"), None)
    queues = fieldset.base_choices(queue_field) or [] if queue_field else []
    active = {k: v for k, v in request.args.items() if k not in ("page", "sort") and v}
    plugin_filters = plugin_filter_choices(chosen)
    return render_template(
        "agent/index.html", page=page, columns=columns, sort=sort, sortable=sortable,
        counters=queries.counters(user), types=types, chosen=chosen, statuses=statuses,
        agents=agents(), queues=queues, errors=errors, args=request.args, active=active,
        now=utcnow(), show_customer=can_see_customers(user), plugin_filters=plugin_filters,
        page_url=lambda number: table_url(page=number),
        column_choices=_column_choices(user, chosen),
    )


def _column_choices(user, chosen: TicketType | None) -> list[tuple[fieldset.Field, bool]]:
    """Every possible column with whether it is shown, the shown ones first in order."""
    shown = [f.key for f in list_columns(user, chosen)]
    rest = [f for f in available_columns(user, chosen) if f.key not in shown]
    by_key = {f.key: f for f in available_columns(user, chosen)}
    return [(by_key[k], True) for k in shown] + [(f, False) for f in rest]


@bp.post("/columns")
@permission_required("tickets.view")
def save_columns():
    """The column chooser: the ticked fields in the order of their numbers."""
    user = viewer()
    if request.form.get("action") == "reset":
        users.set_table_columns(user, None, actor=user)
        flash(_("The table shows the default columns again."), "success")
    else:
        ticked = request.form.getlist("column")
        def position(key: str) -> tuple[int, int]:
            raw = (request.form.get(f"order.{key}") or "").strip()
            return (int(raw) if raw.isdigit() else 999, ticked.index(key))
        users.set_table_columns(user, sorted(ticked, key=position), actor=user)
        flash(_("Your columns are saved."), "success")
    back = request.form.get("next") or ""
    return redirect(back if back.startswith("/agent/") else url_for("agent.index"), code=303)
