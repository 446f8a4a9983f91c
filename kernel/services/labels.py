"""The admin's words in both languages (X2, K4).

A field, status, pipeline, ticket type, dictionary or dictionary item keeps its
label as the admin wrote it; its texts in the other languages are saved here by
the same admin action (the admin screens call :func:`save` inside the unit of work
that saves the row). Pages and letters show the viewer's language through
``web.i18n.translate_label``, which falls back to the text as written.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from kernel import fieldset
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import LabelTranslation
from kernel.services.uow import unit_of_work

MAX_LENGTH = 2000


def digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def translations(source: str | None) -> dict[str, str]:
    """``{locale: text}`` saved for this text (empty when there are none)."""
    if not source:
        return {}
    return dict(fieldset.label_catalogue().get(source, {}))


def lookup(source: str, locale: str) -> str | None:
    """The saved text of ``source`` in ``locale``, or None."""
    return fieldset.label_catalogue().get(source, {}).get(locale)


def save(source: str, texts: dict[str, str | None], field: str = "label") -> None:
    """Set the texts of ``source`` in the given locales: an empty text removes that
    locale's translation; locales not named keep theirs. ``field`` names the form
    field in an error."""
    source = (source or "").strip()
    if not source:
        return
    cleaned = {loc: (text or "").strip() for loc, text in texts.items()}
    for loc, text in cleaned.items():
        if len(text) > MAX_LENGTH:
            raise ValidationFailed({f"{field}_{loc}": f"Longer than {MAX_LENGTH} characters."})
    key = digest(source)
    with unit_of_work() as session:
        rows = {r.locale: r for r in session.scalars(
            select(LabelTranslation).where(LabelTranslation.digest == key))}
        for loc, text in cleaned.items():
            row = rows.get(loc)
            if not text:
                if row is not None:
                    session.execute(delete(LabelTranslation).where(
                        LabelTranslation.id == row.id))
            elif row is None:
                session.add(LabelTranslation(digest=key, source=source, locale=loc, text=text))
            elif row.text != text:
                row.text = text
        db.session.flush()
