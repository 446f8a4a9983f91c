"""Date and date-time inputs that follow the reader's language.

Chromium draws ``<input type="date">`` in the browser's own locale (``mm/dd/yyyy``
in an English browser) whatever the page's language, so dates are typed into
text inputs with the language's pattern — ``ДД.ММ.ГГГГ`` in Russian, ISO
``YYYY-MM-DD`` in English — and read here. Either way of writing is accepted
in every language; what cannot be read is passed on as typed, for the kernel
to refuse by the field's name."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from web import i18n

_DOTTED = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T,]+(\d{1,2}):(\d{2}))?\s*$")
# What the input shows as its placeholder and how a value is written back.
PATTERNS = {"ru": ("ДД.ММ.ГГГГ", "%d.%m.%Y"), "en": ("YYYY-MM-DD", "%Y-%m-%d")}


def _pattern() -> tuple[str, str]:
    return PATTERNS.get(i18n.current_locale(), PATTERNS["en"])


def input_attrs(with_time: bool = False) -> dict[str, Any]:
    """``render_kw`` of a date (or date-time) text input in the reader's language."""
    placeholder, _fmt = _pattern()
    if with_time:
        placeholder += " " + ("ЧЧ:ММ" if i18n.current_locale() == "ru" else "HH:MM")
    return {"type": "text", "inputmode": "numeric", "placeholder": placeholder,
            "autocomplete": "off", "data-date-input": "time" if with_time else "date"}


def parse(text: str) -> datetime | date | None:
    """``31.12.2026``, ``31.12.2026 14:30``, ``2026-12-31`` or ``2026-12-31T14:30``;
    None when it is neither."""
    text = (text or "").strip()
    match = _DOTTED.match(text)
    try:
        if match:
            day, month, year, hour, minute = match.groups()
            if hour is None:
                return date(int(year), int(month), int(day))
            return datetime(int(year), int(month), int(day), int(hour), int(minute))
        if "T" in text or " " in text or ":" in text:
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        return None


def to_iso_date(text: str) -> str:
    """A typed date as ``YYYY-MM-DD`` (as typed when unreadable)."""
    value = parse(text)
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else text


def arg(name: str) -> str:
    """A date from the query string (``?from=31.12.2026``) as ``YYYY-MM-DD``
    (as typed when unreadable; empty when absent)."""
    from flask import request

    raw = request.args.get(name) or ""
    return to_iso_date(raw) if raw.strip() else ""


def format_date(value: date | str | None) -> str:
    """A date as the reader's input shows it."""
    if isinstance(value, str):
        parsed = parse(value)
        if parsed is None:
            return value
        value = parsed
    if not isinstance(value, date):
        return ""
    return value.strftime(_pattern()[1])


def format_datetime(value: datetime) -> str:
    """A local moment as the reader's input shows it."""
    return value.strftime(_pattern()[1] + " %H:%M")



def input_html(with_time: bool = False) -> Markup:
    """The attributes of a date text input for templates: ``<input{{ date_input() }}>``."""
    return Markup("".join(f' {k}="{escape(v)}"' for k, v in input_attrs(with_time).items()))
