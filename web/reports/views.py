"""Pages of the reports section: the index, a report's page and its CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from kernel import declarations as d
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.services import reports
from web import dates, i18n
from web.auth import agent_required, viewer
from web.reports import bp, chart

FILTER_PREFIX = "f_"


def cell(column: d.ReportColumn, value: Any) -> str:
    """A value as the viewer reads it (the page and the CSV show the same)."""
    if column.kind == "share":
        return "—" if value is None else f"{float(value) * 100:.1f}%"
    if value is None or value == "":
        return _("Not set") if column.kind == "label" else "—"
    if column.kind == "label":
        return i18n.translate_label(str(value))
    return str(value)


def _decl_or_abort(key: str) -> d.ReportDecl:
    try:
        return reports.get(key, viewer())
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)


def _filters_from_args(decl: d.ReportDecl) -> dict[str, str]:
    return {f.key: request.args.get(FILTER_PREFIX + f.key, "") for f in decl.filters}


def _run(decl: d.ReportDecl) -> tuple[reports.ReportResult | None, dict[str, list[str]]]:
    try:
        result = reports.run(decl.key, viewer(), dates.arg("from"), dates.arg("to"),
                             _filters_from_args(decl))
    except ValidationFailed as exc:
        return None, i18n.translate_errors(exc.errors)
    return result, {}


@bp.get("/")
@agent_required
def index():
    return render_template("reports/index.html", reports=reports.visible(viewer()))


@bp.get("/<key>")
@agent_required
def page(key: str):
    decl = _decl_or_abort(key)
    result, errors = _run(decl)
    status = 422 if errors else 200
    if result is None:  # show the defaults beside the errors, never half a report
        result = reports.run(decl.key, viewer())
    by_key = {c.key: c for c in result.columns}
    records = result.records()

    def label_of(column_key: str, value: Any) -> str:
        column = by_key.get(column_key)
        return cell(column, value) if column is not None else str(value)

    drawn = chart.build(decl.chart, records, label_of)
    filters = [(f, [(str(v), i18n.translate_label(lbl)) for v, lbl in f.choices()])
               for f in decl.filters]
    chosen = _filters_from_args(decl)
    return render_template("reports/report.html", decl=decl, result=result, errors=errors,
                           chart=drawn, filters=filters, chosen=chosen, cell=cell,
                           prefix=FILTER_PREFIX, column_label=_column_label,
                           csv_args=_csv_args(result)), status


def _column_label(column: d.ReportColumn) -> str:
    return i18n.translate_label(column.label)


def _csv_args(result: reports.ReportResult) -> dict[str, str]:
    args = {"from": result.params["from"].isoformat(), "to": result.params["to"].isoformat()}
    args.update({FILTER_PREFIX + k: v for k, v in result.params["filters"].items()})
    return args


@bp.get("/<key>/csv")
@agent_required
def export(key: str):
    decl = _decl_or_abort(key)
    result, errors = _run(decl)
    if result is None:
        return Response("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()),
                        status=422, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_column_label(c) for c in result.columns])
    for row in result.rows:
        writer.writerow([cell(c, v) for c, v in zip(result.columns, row, strict=False)])
    name = (f"{decl.key.replace('.', '-')}-{result.params['from'].isoformat()}-"
            f"{result.params['to'].isoformat()}.csv")
    # The BOM lets spreadsheet programs read the Russian words as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
