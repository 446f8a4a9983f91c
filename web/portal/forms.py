"""The forms of the customer cabinet: the page's own inputs added to the forms
that ``web.forms.ticket_form`` builds from field definitions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, TextAreaField

from web.forms import NO_NATIVE_REQUIRED, TicketForm


def chosen_files(field: MultipleFileField) -> list[FileStorage]:
    """The files really chosen (a browser sends one empty part when none is)."""
    return [f for f in (field.data or []) if isinstance(f, FileStorage) and f.filename]


class NewTicketForm(TicketForm):
    """The "New ticket" form: the type's fields plus any number of files."""

    portal_files = MultipleFileField(
        _l("Files"),
        description=_l("Drawings, photos, documents: you can choose several files at once."),
    )


class EditTicketForm(TicketForm):
    """The fields a customer may still change; ``version`` guards against
    overwriting a change made meanwhile by someone else."""

    portal_version = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your message"), render_kw={**NO_NATIVE_REQUIRED, "rows": 5})
    files = MultipleFileField(_l("Files"))
