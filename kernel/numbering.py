"""Ticket numbers from per-type templates (K5), e.g. ``W-{year}-{seq:05d}``.

The counter key is the template rendered without ``seq`` (``W-{year}-{seq}``
in 2026 counts under ``"W-{year}-{seq:05d}|W-2026-"``), so a yearly template
restarts every year. The counter row is incremented with ``UPDATE ... RETURNING``
in the transaction that creates the ticket: concurrent creators queue on the
row lock (PostgreSQL) or the write lock (SQLite), and a rolled-back creation
gives its number back — numbers are unique and gap-free. Templates whose
variables run into each other without a fixed width (``{month}{seq}``) are
refused, and a number another type's template already printed is skipped.
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kernel.db import db
from kernel.models import NumberCounter, Ticket

_DIALECT_INSERTS = {"sqlite": sqlite_insert, "postgresql": pg_insert}
NUMBER_LENGTH = 64  # tickets.number
LONG_NUMBERS = "Numbers made by this template could be longer than 64 characters."
BUILTIN_VARIABLES = ("year", "month", "day", "type", "seq")
# Presentation types that print distinct whole numbers distinctly.
SEQ_FORMATS = "dxXob"
_formatter = string.Formatter()


class TemplateError(ValueError):
    pass


def parse(template: str) -> list[tuple[str, str | None, str | None]]:
    """``[(literal, field_name, format_spec), ...]``; raises ``TemplateError``."""
    try:
        parts = [(lit, name, spec) for lit, name, spec, _conv in _formatter.parse(template)]
    except ValueError as exc:
        raise TemplateError(f"Template {template!r} is malformed: {exc}.") from exc
    return parts


def validate(template: str, extra_variables: tuple[str, ...] = ()) -> None:
    """Refuse a template without exactly one ``{seq}`` or with unknown variables."""
    if not template or len(template) > 100:
        raise TemplateError("A numbering template needs 1 to 100 characters.")
    parts = parse(template)
    names = [name for _lit, name, _spec in parts if name is not None]
    if names.count("seq") != 1:
        raise TemplateError(f"Template {template!r} must contain {{seq}} exactly once.")
    allowed = set(BUILTIN_VARIABLES) | set(extra_variables)
    for name in names:
        if name == "" or name not in allowed:
            raise TemplateError(
                f"Template {template!r} uses unknown variable {{{name}}}; "
                f"allowed: {', '.join(sorted(allowed))}."
            )
    for _lit, name, spec in parts:
        if spec and ("{" in spec or "}" in spec):
            raise TemplateError(
                f"Template {template!r}: the format of {{{name}}} cannot contain another {{...}}."
            )
        kind = (spec or "")[-1:]
        if name == "seq" and (kind.isalpha() or kind == "%") and kind not in SEQ_FORMATS:
            # e.g. {seq:g} or {seq:e} would print 1234567 and 1234568 alike.
            raise TemplateError(
                f"Template {template!r}: {{seq:{spec}}} must print a whole number "
                f"(format d, x, X, o or b, e.g. {{seq:05d}}) so every ticket gets its own."
            )
    for (_lit, name, spec), (lit_after, following, _spec) in zip(parts, parts[1:], strict=False):
        if name is not None and following is not None and not lit_after \
                and not _fixed_width(name, spec):
            # {month}{seq}: January's 11th and November's 1st would both print "111".
            raise TemplateError(
                f"Template {template!r}: {{{name}}} runs into {{{following}}}; put a "
                f"separator between them or give {{{name}}} a fixed width, e.g. "
                f"{{{name}:02d}}.")
    try:
        render(template, {k: _sample(k) for k in allowed}, 1)
        # The longest number it may print (a long type key, a billion tickets)
        # must fit the ticket's number column.
        longest = render(template, {k: _sample(k) for k in allowed}
                         | {"type": "x" * 16, "seq": 10**9}, 10**9)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"Template {template!r}: {exc}.") from exc
    if len(longest) > NUMBER_LENGTH:
        raise TemplateError(LONG_NUMBERS)


def _fixed_width(name: str, spec: str | None) -> bool:
    """Whether a placeholder always prints the same number of characters: the year,
    or a number zero-padded to a width (``{month:02d}``, ``{seq:05d}``)."""
    if name == "year" and not spec:
        return True
    return bool(spec) and len(spec) >= 2 and spec[0] == "0" and spec[1:].rstrip(
        SEQ_FORMATS).isdigit()


def _sample(name: str) -> Any:
    return 1 if name in ("year", "month", "day", "seq") else "x"


def render(template: str, variables: dict[str, Any], seq: int) -> str:
    return template.format(**{**variables, "seq": seq})


def counter_key(template: str, variables: dict[str, Any]) -> str:
    prefix = "".join(
        lit + ("" if name in (None, "seq") else format(variables[name], spec or ""))
        for lit, name, spec in parse(template)
    )
    return f"{template}|{prefix}"[:200]


def variables_for(type_key: str, when: datetime, extra: dict[str, Any] | None = None) -> dict:
    base = {"year": when.year, "month": when.month, "day": when.day, "type": type_key}
    return {**base, **(extra or {})}


def next_number(template: str, variables: dict[str, Any]) -> str:
    """Take the next number for this template; call inside the creating transaction.

    The common case is one ``UPDATE ... RETURNING`` on an existing counter. The
    first number of a prefix inserts the row; when a concurrent creator inserted
    it first, the insert does nothing and the update (now waiting on that
    creator's row lock) takes the next number."""
    key = counter_key(template, variables)
    session = db.session
    bump = (
        update(NumberCounter)
        .where(NumberCounter.key == key)
        .values(value=NumberCounter.value + 1)
        .returning(NumberCounter.value)
    )
    seq = session.execute(bump).scalar_one_or_none()
    if seq is None:
        dialect = session.get_bind().dialect.name
        dialect_insert = _DIALECT_INSERTS.get(dialect)
        if dialect_insert is not None:
            seq = session.execute(
                dialect_insert(NumberCounter).values(key=key, value=1)
                .on_conflict_do_nothing().returning(NumberCounter.value)
            ).scalar_one_or_none()
        else:  # pragma: no cover - other databases
            session.execute(insert(NumberCounter).values(key=key, value=1))
            seq = 1
        if seq is None:
            seq = session.execute(bump).scalar_one()
    number = render(template, variables, seq)
    # Another type's template may print the same text ("{seq}" and "{seq:d}"): such
    # a number is skipped, never handed out twice.
    while session.execute(select(Ticket.id).where(Ticket.number == number)).first():
        seq = session.execute(bump).scalar_one()
        number = render(template, variables, seq)
    return number
