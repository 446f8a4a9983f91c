"""Numbers from the query string, bounded: the one way pages read ``?page=``,
``?per_page=`` and any other whole number a visitor can type.

A page number like ``100000000000000000000`` used to reach the database as an
``OFFSET`` it cannot hold (a 500). Pages clamp instead: garbage, zero and
negative numbers give the default, anything above the bound gives the bound —
a list past its end shows its last page. The REST API refuses the same input
with 422 through ``page_field()``/``per_page_field()`` (marshmallow), whose
bounds are the same constants.
"""

from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _
from marshmallow import fields, validate

from kernel.services.queries import MAX_PAGE

MAX_PER_PAGE = 200
MAX_INT = 2**31 - 1  # an id or count no column holds more of


def int_arg(name: str, default: int, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``request.args[name]`` as a whole number within ``minimum..maximum``:
    missing, empty or not a number -> ``default``; below ``minimum`` -> ``default``;
    above ``maximum`` -> ``maximum``. Never raises."""
    raw = (request.args.get(name) or "").strip()
    if not raw or len(raw) > 40 or not raw.lstrip("+-").isdigit() or not raw.isascii():
        return default
    value = int(raw)
    if value < minimum:
        return default
    return min(value, maximum)


def page_arg(name: str = "page", default: int = 1) -> int:
    """The page number of a list page (1..``MAX_PAGE``)."""
    return int_arg(name, default, 1, MAX_PAGE)


def per_page_arg(name: str = "per_page", default: int = 20) -> int:
    """Rows per page (1..``MAX_PER_PAGE``)."""
    return int_arg(name, default, 1, MAX_PER_PAGE)


def page_field(**kwargs) -> fields.Integer:
    """``page`` of an API query schema: 1..``MAX_PAGE``, else 422 naming ``page``."""
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE), **kwargs)


def per_page_field(default: int = 20, **kwargs) -> fields.Integer:
    """``per_page`` of an API query schema: 1..``MAX_PER_PAGE``, else 422."""
    return fields.Integer(load_default=default,
                          validate=validate.Range(min=1, max=MAX_PER_PAGE), **kwargs)


def checked_sort(requested: str | None, sortable: set[str],
                 default: str = "-created_at") -> str:
    """The sort to apply: ``requested`` if the page offers it, else ``default``
    with a notice saying the requested one was not applied (never silently)."""
    if not requested or requested.lstrip("-") in sortable:
        return requested or default
    flash(_("The list cannot be sorted by “%(key)s” here; it is sorted by creation date.",
            key=requested.lstrip("-")[:40]), "warning")
    return default
