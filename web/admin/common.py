"""What the admin screens share: kernel refusals in the reader's language."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm

from kernel.errors import ValidationFailed
from kernel.i18n import N_
from web import i18n
from web.forms import apply_errors

# Kernel messages with a variable part that the admin screens may show.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Template '(?P<t>.*)' must contain \{seq\} exactly once\.$"),
     N_("The template %(t)s must contain {seq} exactly once.")),
    (re.compile(r"^Template '(?P<t>.*)' uses unknown variable (?P<v>\{.*\}); "
                r"allowed: (?P<allowed>.*)\.$"),
     N_("The template %(t)s uses an unknown variable %(v)s; allowed: %(allowed)s.")),
    (re.compile(r"^Template '(?P<t>.*)' is malformed: .*$"),
     N_("The template %(t)s is malformed: check the braces { }.")),
    (re.compile(r"^Template '(?P<t>.*)': \{seq:.*\} must print a whole number.*$"),
     N_("The template %(t)s: {seq} must print a whole number, e.g. {seq:05d}.")),
    (re.compile(r"^Template '(?P<t>.*)': .*$"),
     N_("The template %(t)s cannot be used.")),
    (re.compile(r"^Unknown status '(?P<s>.*)' in '(?P<p>.*)'\.$"),
     N_("Unknown status %(s)s in pipeline %(p)s.")),
    (re.compile(r"^Status '(?P<s>.*)' already exists in '(?P<p>.*)'\.$"),
     N_("Status %(s)s already exists in pipeline %(p)s.")),
    (re.compile(r"^Pipeline '(?P<k>.*)' already exists\.$"), N_("Pipeline %(k)s already exists.")),
    (re.compile(r"^Ticket type '(?P<k>.*)' already exists\.$"),
     N_("Ticket type %(k)s already exists.")),
    (re.compile(r"^Field '(?P<k>.*)' already exists\.$"), N_("Field %(k)s already exists.")),
    (re.compile(r"^Choice list '(?P<k>.*)' already exists\.$"),
     N_("Choice list %(k)s already exists.")),
    (re.compile(r"^Role '(?P<k>.*)' already exists\.$"), N_("Role %(k)s already exists.")),
    (re.compile(r"^Unknown role '(?P<k>.*)'\.$"), N_("Unknown role %(k)s.")),
    (re.compile(r"^Unknown permission '(?P<k>.*)'\.$"), N_("Unknown permission %(k)s.")),
    (re.compile(r"^Unknown ticket type '(?P<k>.*)'\.$"), N_("Unknown ticket type %(k)s.")),
    (re.compile(r"^Unknown choice list '(?P<k>.*)'\.$"), N_("Unknown choice list %(k)s.")),
    (re.compile(r"^One of (?P<items>.*)\.$"), N_("Choose one of: %(items)s.")),
    (re.compile(r"^Must be one of: (?P<items>.*)\.$"), N_("Choose one of: %(items)s.")),
    (re.compile(r"^A reference field needs the entity it refers to.*$"),
     N_("A reference field needs the entity it refers to.")),
]

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
    translated = i18n.translate_message(text)
    if translated != text:
        return translated
    for pattern, msgid in PATTERNS:
        match = pattern.match(text)
        if match:
            return i18n.gettext_raw(msgid) % match.groupdict()
    return text


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
