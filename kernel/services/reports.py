"""Reports plugins declare (``hookdesk_register_reports``, A7, K12): who may see
which, the period and filters they are asked for, and the one run that the
report page, its CSV and the API endpoint all read.

A report is guarded by its declaration's ``permission``: a viewer without it is
refused here, whatever door asked. Customers hold no report permission
(``kernel.permissions.CUSTOMER_PERMISSIONS``), so aggregate figures never reach
them. A report's ``build`` runs aggregate SQL (GROUP BY) over the period given
by ``bounds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kernel import declarations as d
from kernel import permissions, runtime
from kernel.errors import NotFound, ValidationFailed
from kernel.models import User

MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass
class ReportResult:
    """What a run produced: the declaration, the parsed ``params`` (``from``,
    ``to``, ``filters``), the table (``columns`` with labels and kinds, ``rows``
    aligned with them) and whatever else ``build`` returned (``extra``)."""

    decl: d.ReportDecl
    params: dict[str, Any]
    columns: list[d.ReportColumn]
    rows: list[list[Any]]
    extra: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """The rows as ``{column key: value}``."""
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=False)) for row in self.rows]


def zone() -> ZoneInfo:
    """The deployment's time zone: a period's days begin at its midnight."""
    return ZoneInfo(runtime.config("HOOKDESK_DEFAULT_TIMEZONE") or "UTC")


def declared() -> dict[str, d.ReportDecl]:
    return {key: entry.decl for key, entry in runtime.host().registry.reports.items()}


def visible(actor: User | None) -> list[d.ReportDecl]:
    """The reports ``actor`` may see, by title then key."""
    found = [decl for decl in declared().values() if permissions.has(actor, decl.permission)]
    return sorted(found, key=lambda decl: (str(decl.title), decl.key))


def get(key: str, actor: User | None) -> d.ReportDecl:
    """The report ``key``; unknown is "not found", without its permission "forbidden"."""
    decl = declared().get(key) if isinstance(key, str) else None
    if decl is None:
        raise NotFound(f"Unknown report {key!r}.")
    permissions.require(actor, decl.permission)
    return decl


def parse_params(decl: d.ReportDecl, raw_from: Any = None, raw_to: Any = None,
                 filters: Mapping[str, Any] | None = None,
                 today: date | None = None) -> dict[str, Any]:
    """``from``/``to`` as ISO dates (inclusive; default the last 30 days) and the
    chosen filters, checked against their choices. Every problem names its field."""
    today = today or datetime.now(zone()).date()
    errors: dict[str, str] = {}

    def one(raw: Any, key: str, default: date) -> date:
        if raw in (None, ""):
            return default
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            errors[key] = "Not a date (YYYY-MM-DD)."
            return default

    end = one(raw_to, "to", today)
    start = one(raw_from, "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if not errors and start > end:
        errors["from"] = "The start is after the end."
    if not errors and (end - start).days >= MAX_DAYS:
        errors["to"] = "At most 366 days."
    chosen: dict[str, str] = {}
    by_key = {f.key: f for f in decl.filters}
    for key, value in (filters or {}).items():
        if value in (None, ""):
            continue
        flt = by_key.get(key)
        if flt is None:
            errors[key] = "Unknown filter."
            continue
        allowed = {str(v) for v, _label in flt.choices()}
        if str(value) not in allowed:
            errors[key] = "Not one of the choices."
            continue
        chosen[key] = str(value)
    if errors:
        raise ValidationFailed(errors)
    return {"from": start, "to": end, "filters": chosen}


def bounds(params: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The period of ``params`` as UTC instants ``[since, until)``."""
    tz = zone()
    since = datetime.combine(params["from"], time.min, tzinfo=tz).astimezone(UTC)
    until = datetime.combine(params["to"] + timedelta(days=1), time.min,
                             tzinfo=tz).astimezone(UTC)
    return since, until


def share(part: int | None, total: int | None) -> float | None:
    """``part / total`` rounded to 4 places; None for an empty total."""
    return round((part or 0) / total, 4) if total else None


def run(key: str, actor: User | None, raw_from: Any = None, raw_to: Any = None,
        filters: Mapping[str, Any] | None = None) -> ReportResult:
    """Check the permission and the parameters, then build the report."""
    decl = get(key, actor)
    params = parse_params(decl, raw_from, raw_to, filters)
    answer = dict(decl.build({**params, "actor": actor}) or {})
    keys = [str(k) for k in answer.pop("columns", [])]
    by_key = {c.key: c for c in decl.columns}
    columns = [by_key.get(k) or d.ReportColumn(k, k) for k in keys]
    rows = [list(row) for row in answer.pop("rows", [])]
    return ReportResult(decl, params, columns, rows, answer)
