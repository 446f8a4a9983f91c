"""What the admin screens share: kernel refusals in the reader's language."""

from __future__ import annotations

from flask_wtf import FlaskForm

from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.services import labels
from web import i18n
from web.forms import apply_errors

# Fixed kernel messages the admin screens may show.
MESSAGES = [
    N_("Use 1-64 lower-case letters, digits and underscores, starting with a letter."),
    N_("Use a-z, 0-9, _."),
    N_("A numbering template needs 1 to 100 characters."),
    N_("Numbers made by this template could be longer than 64 characters."),
    N_("Give a name of 1 to 200 characters."),
    N_("Cannot be changed here."),
    N_("The default ticket type cannot be deactivated."),
    N_("A colour like #2563eb, or nothing."),
    N_("Name every status of the pipeline exactly once."),
    N_("Name every item of the list exactly once."),
    N_("A status cannot transition to itself."),
    N_("A pipeline needs at least one status."),
    N_("Status keys repeat."),
    N_("A choice field needs choices or a choice list."),
    N_("Declared fields are hidden with overrides, not removed."),
    N_("1 to 64 characters."),
    N_("Customers have no roles."),
    N_("You cannot take away your own right to manage users."),
    N_("Unknown setting."),
]


def translate(text: str) -> str:
    """A kernel message in the reader's language (the shared patterns of web.i18n)."""
    return i18n.translate_message(text)


def show_errors(form: FlaskForm, exc: ValidationFailed,
                field_map: dict[str, str] | None = None) -> None:
    """``apply_errors`` with the admin screens' messages translated too."""
    translated = ValidationFailed({key: [translate(m) for m in messages]
                                   for key, messages in exc.errors.items()})
    apply_errors(form, translated, field_map)


def first_error(exc: ValidationFailed) -> str:
    for messages in exc.errors.values():
        for message in messages:
            return translate(message)
    return ""


def texts_data(source: str | None, field: str) -> dict[str, str]:
    """Form data of ``<field>_ru``, ``<field>_en`` for an edit form: the texts
    saved for ``source`` (X2)."""
    saved = labels.translations(source)
    return {f"{field}_{loc}": saved.get(loc, "") for loc in i18n.LOCALES}


def save_texts(form: FlaskForm, source: str | None, field: str) -> None:
    """Save the ``<field>_<locale>`` inputs of ``form`` as the texts of ``source``.
    Call inside the unit of work that saved the row, so both land or neither."""
    if not source:
        return
    labels.save(source, {loc: form[f"{field}_{loc}"].data for loc in i18n.LOCALES
                         if f"{field}_{loc}" in form}, field)


def texts_changed(form: FlaskForm, source: str | None, field: str) -> bool:
    saved = labels.translations(source)
    return any((form[f"{field}_{loc}"].data or "").strip() != saved.get(loc, "")
               for loc in i18n.LOCALES if f"{field}_{loc}" in form)
