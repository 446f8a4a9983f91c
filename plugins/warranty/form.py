"""The defects part of the claim form (W4), a kernel ``FormSection``.

The browser sends each defect as ``defects-<i>-category``, ``-description``,
``-x``, ``-y`` and files ``defects-<i>-photos``; a row left entirely empty is
ignored. Errors come back as ``defects.<i>.<field>`` so each sits under its row.
"""

from __future__ import annotations

import re
from typing import Any

from flask import url_for

from kernel import declarations as d
from kernel import fieldset, permissions
from kernel.errors import ValidationFailed
from kernel.models import Ticket, TicketType, User
from plugins.warranty import defects
from plugins.warranty import property as prop

KEY = "defects"
ROW = re.compile(r"^defects-(\d{1,3})-(category|description|x|y)$")


def sections(ticket_type: TicketType, viewer: User) -> list[d.FormSection] | None:
    if not defects.enabled():
        return None
    if not viewer.is_customer and not permissions.has(viewer, defects.WORK):
        return None  # they could not save the defects: the claim is filed without them
    if not any(f.key == prop.APARTMENT_FIELD for f in fieldset.for_type(ticket_type, "agent")):
        return None
    return [d.FormSection(
        KEY, "warranty/_defects_form.html", parse, save, order=10,
        context={"categories": defects.categories(), "max_defects": defects.MAX_DEFECTS,
                 "max_photos": defects.MAX_PHOTOS,
                 "plan_url": url_for("warranty.plan", apartment_id=0).replace("/0/", "/{id}/"),
                 "rows": submitted_rows},
    )]


def _number(raw: str) -> float | str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return raw  # the schema names the problem


def submitted_rows(form: Any) -> list[dict[str, Any]]:
    """The rows as sent, in order, for parsing and for showing the form again."""
    rows: dict[int, dict[str, Any]] = {}
    for name in form:
        match = ROW.match(name)
        if match:
            rows.setdefault(int(match.group(1)), {"index": int(match.group(1))})[
                match.group(2)] = form.get(name, "")
    return [rows[i] for i in sorted(rows)]


def parse(form: Any, files: Any) -> list[dict[str, Any]]:
    """Every non-empty row, validated; all rows' problems at once."""
    found: list[dict[str, Any]] = []
    problems: dict[str, list[str]] = {}
    for row in submitted_rows(form):
        i = row["index"]
        photos = [f for f in files.getlist(f"defects-{i}-photos") if f and f.filename]
        data = {"category": (row.get("category") or "").strip(),
                "description": (row.get("description") or "").strip(),
                "x": _number(row.get("x", "")), "y": _number(row.get("y", ""))}
        if not any([data["category"], data["description"], data["x"] is not None, photos]):
            continue
        position = len(found)
        try:
            defects.check(data, prefix=f"{KEY}.{i}.")
        except ValidationFailed as exc:
            for key, messages in exc.errors.items():
                problems.setdefault(key, []).extend(messages)
        if len(photos) > defects.MAX_PHOTOS:
            problems.setdefault(f"{KEY}.{i}.photos", []).append(
                f"At most {defects.MAX_PHOTOS} photos a defect.")
        found.append({"index": i, "position": position, "data": data, "photos": photos})
    if len(found) > defects.MAX_DEFECTS:
        problems.setdefault(KEY, []).append(f"At most {defects.MAX_DEFECTS} defects a claim.")
    if problems:
        raise ValidationFailed(problems)
    return found


def save(ticket: Ticket, payload: list[dict[str, Any]] | None, actor: User | None) -> None:
    """Store the parsed rows on the new claim (inside its unit of work)."""
    for row in payload or []:
        defects.add(ticket, row["data"], row["photos"], actor=actor,
                    prefix=f"{KEY}.{row['index']}.")
