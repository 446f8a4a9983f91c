"""Russian and English throughout the pages and e-mails; times in the reader's
time zone (X2, P2).

The language of a page is, in this order: the signed-in user's ``locale``; the
visitor's choice from the language switcher (session, then the ``hookdesk_lang``
cookie); the browser's ``Accept-Language``; ``HOOKDESK_DEFAULT_LOCALE``. The time
zone is the signed-in user's, else ``HOOKDESK_DEFAULT_TIMEZONE``. E-mails are
rendered inside ``use(locale, timezone)`` with the *recipient's* choices.

Catalogues: ``web/translations/<locale>/LC_MESSAGES/messages.po`` (compiled to
``.mo`` by ``make translations``), plus the folder each plugin returns from
``hookdesk_register_translations``. Words the kernel and plugins declare
(statuses, field labels, choices) are marked with ``kernel.i18n.N_`` and
translated when shown: ``{{ label|tl }}`` in templates, ``translate_label`` in
Python. Messages of kernel refusals go through ``translate_message``.

Template helpers: ``_()``/``ngettext()`` (Flask-Babel), filters ``localdt``,
``localdate``, ``localtime``, ``reltime``, ``tl``; globals ``current_locale()``,
``LOCALES``, ``LOCALE_NAMES``.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from babel import Locale, dates
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_babel import Babel, force_locale, get_locale, get_translations
from flask_babel import refresh as babel_refresh
from sqlalchemy.exc import SQLAlchemyError

from kernel.i18n import N_
from kernel.services import users

LOCALES = users.LOCALES
LOCALE_NAMES = {"ru": "Русский", "en": "English"}
COOKIE = "hookdesk_lang"
TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")

bp = Blueprint("i18n", __name__)


# -- choosing the language and the time zone ---------------------------------------


def _user():
    if not has_request_context():
        return None
    from flask_login import current_user

    user = current_user._get_current_object()
    return user if getattr(user, "is_authenticated", False) else None


def select_locale() -> str | None:
    override = g.get("_hookdesk_locale") if g else None
    if override:
        return override
    if not has_request_context():
        return None
    user = _user()
    if user is not None and user.locale in LOCALES:
        return user.locale
    choice = session.get("lang") or request.cookies.get(COOKIE)
    if choice in LOCALES:
        return choice
    return request.accept_languages.best_match(LOCALES)


def select_timezone() -> str:
    override = g.get("_hookdesk_tz") if g else None
    if override:
        return override
    user = _user()
    if user is not None and user.timezone in users.timezones():
        return user.timezone
    return current_app.config["HOOKDESK_DEFAULT_TIMEZONE"]


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale is not None else current_app.config[
        "HOOKDESK_DEFAULT_LOCALE"]


def current_timezone() -> zoneinfo.ZoneInfo:
    name = select_timezone()
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def refresh() -> None:
    """Forget the language chosen for this request (after the user changed it)."""
    babel_refresh()


@contextmanager
def use(locale: str | None, timezone: str | None = None) -> Iterator[None]:
    """Render in another person's language and time zone (e-mails)."""
    locale = locale if locale in LOCALES else current_app.config["HOOKDESK_DEFAULT_LOCALE"]
    saved = g.get("_hookdesk_locale"), g.get("_hookdesk_tz")
    g._hookdesk_locale = locale
    if timezone and timezone in users.timezones():
        g._hookdesk_tz = timezone
    try:
        with force_locale(locale):
            yield
    finally:
        g._hookdesk_locale, g._hookdesk_tz = saved


# -- formatting ----------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def localdt(value: datetime | date | None, format: str = "medium") -> str:  # noqa: A002
    """A moment in the reader's time zone and language.

    ``medium`` (default): ``12 мая 2024 г., 14:30`` / ``May 12, 2024, 2:30 PM``;
    ``short``: ``12.05.2024, 14:30``; ``long``: with seconds and zone name."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return localdate(value)
    locale = Locale.parse(current_locale())
    tz = current_timezone()
    value = _aware(value)
    if format == "medium":
        day = dates.format_skeleton("yMMMd", value, tzinfo=tz, locale=locale)
        time = dates.format_time(value, "short", tzinfo=tz, locale=locale)
        return locale.datetime_formats["medium"].format(time, day)
    return dates.format_datetime(value, format, tzinfo=tz, locale=locale)


def localdate(value: datetime | date | None, format: str = "medium") -> str:  # noqa: A002
    """A date (or the date of a moment, in the reader's time zone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    locale = Locale.parse(current_locale())
    if isinstance(value, datetime):
        value = _aware(value).astimezone(current_timezone()).date()
    if format == "medium":
        return dates.format_skeleton("yMMMd", value, locale=locale)
    return dates.format_date(value, format, locale=locale)


def localtime(value: datetime | None, format: str = "short") -> str:  # noqa: A002
    if value is None:
        return ""
    return dates.format_time(_aware(value), format, tzinfo=current_timezone(),
                             locale=Locale.parse(current_locale()))


def reltime(value: datetime | None, now: datetime | None = None) -> str:
    """``5 минут назад`` / ``in 2 days``: a moment relative to now (a ``datetime``,
    or the ISO text a datetime field's value is stored as)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    delta: timedelta = _aware(value) - (now or datetime.now(UTC))
    return dates.format_timedelta(delta, add_direction=True, threshold=1.0,
                                  locale=Locale.parse(current_locale()))


def timezone_choices(now: datetime | None = None) -> list[tuple[str, str]]:
    """``[(name, "(UTC+03:00) Москва"), ...]`` sorted by offset, then name: the
    city in the reader's language (from CLDR, through Babel)."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return _timezone_choices(current_locale(), now)


@lru_cache(maxsize=8)
def _timezone_choices(locale: str, now: datetime) -> list[tuple[str, str]]:
    rows = []
    for name in users.timezones():
        legacy = name.startswith(("Etc/", "SystemV/", "US/", "posix", "right")) or "/" not in name
        if legacy and name != "UTC":
            continue
        offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or timedelta()
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        city = dates.get_timezone_location(name, locale=locale, return_city=True)
        rows.append((minutes, city, name, f"(UTC{sign}{hours:02d}:{mins:02d}) {city}"))
    rows.sort()
    return [(name, label) for _m, _city, name, label in rows]


# -- words that come from the kernel and plugins -----------------------------------


def translate_label(text: str | None) -> str:
    """A label in the current language: the text an admin gave for this language
    (``kernel.services.labels``), else the message catalogues' translation of a
    label declared with ``N_`` (status, field, choice...), else as written."""
    if not text:
        return text or ""
    # The admin's own text first: it may also re-word a declared label.
    return admin_label(text, current_locale()) or gettext_raw(text)


def admin_label(text: str, locale: str) -> str | None:
    """The admin's own translation of ``text`` into ``locale``, if any."""
    if not has_app_context():
        return None
    from kernel.services import labels

    try:
        return labels.lookup(text, locale)
    except SQLAlchemyError:
        # An error page after a failed transaction still renders its labels.
        return None


def gettext_raw(text: str) -> str:
    """``gettext`` without ``%`` formatting: labels may contain ``%``."""
    return get_translations().ugettext(text)


# Kernel and marshmallow messages with a variable part: pattern -> msgid.
MESSAGE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^At least (?P<n>\d+) characters\.$"), N_("At least %(n)s characters.")),
    (re.compile(r"^Longer than maximum length (?P<n>\d+)\.$"),
     N_("Longer than maximum length %(n)s.")),
    (re.compile(r"^Longer than (?P<n>\d+) characters\.$"), N_("Longer than %(n)s characters.")),
    (re.compile(r"^Length must be between (?P<a>\d+) and (?P<b>\d+)\.$"),
     N_("Length must be between %(a)s and %(b)s.")),
    (re.compile(r"^A user with e-mail (?P<email>\S+) already exists\.$"),
     N_("A user with e-mail %(email)s already exists.")),
    (re.compile(r"^'(?P<value>.*)' is not a valid phone number\.$"),
     N_("%(value)s is not a valid phone number.")),
    (re.compile(r"^'(?P<value>.*)' is not a phone number\.$"),
     N_("%(value)s is not a phone number.")),
    (re.compile(r"^(?P<value>'.*') is not an allowed choice(; allowed: .*|; nothing is allowed "
                r"here\.)$"), N_("%(value)s is not an allowed choice.")),
    (re.compile(r"^#(?P<id>\d+) is not an allowed choice here\.$"),
     N_("#%(id)s is not an allowed choice here.")),
    (re.compile(r"^#(?P<id>\d+) does not exist\.$"), N_("#%(id)s does not exist.")),
    (re.compile(r"^'(?P<name>.*)' is larger than the limit of (?P<limit>.+)\.$"),
     N_("%(name)s is larger than the limit of %(limit)s.")),
    (re.compile(r"^'(?P<name>.*)' is empty\.$"), N_("%(name)s is empty.")),
    (re.compile(r"^At most (?P<n>\d+) files can be sent at once; '(?P<name>.*)' is one too "
                r"many\.$"),
     N_("At most %(n)s files can be sent at once; %(name)s is one too many.")),
    (re.compile(r"^'(?P<name>.*)': one customer can keep at most (?P<n>\d+) files\.$"),
     N_("%(name)s: one customer can keep at most %(n)s files.")),
    (re.compile(r"^'(?P<name>.*)' does not fit in the storage quota of (?P<limit>.+) for one "
                r"customer's files\.$"),
     N_("%(name)s does not fit in the storage quota of %(limit)s for one customer's files.")),
    (re.compile(r"^Choose one of: (?P<items>.+)\.$"), N_("Choose one of: %(items)s.")),
    (re.compile(r"^Unknown field for type '(?P<type>.+)'\.$"),
     N_("Unknown field for type %(type)s.")),
    # Messages of the configuration services (admin screens, API, CLI).
    (re.compile(r"^Template '(?P<t>.*)' must contain \{seq\} exactly once\.$"),
     N_("The template %(t)s must contain {seq} exactly once.")),
    (re.compile(r"^Template '(?P<t>.*)' uses unknown variable (?P<v>\{.*\}); "
                r"allowed: (?P<allowed>.*)\.$"),
     N_("The template %(t)s uses an unknown variable %(v)s; allowed: %(allowed)s.")),
    (re.compile(r"^Template '(?P<t>.*)' is malformed: .*$"),
     N_("The template %(t)s is malformed: check the braces { }.")),
    (re.compile(r"^Template '(?P<t>.*)': \{seq:.*\} must print a whole number.*$"),
     N_("The template %(t)s: {seq} must print a whole number, e.g. {seq:05d}.")),
    (re.compile(r"^Template '(?P<t>.*)': \{(?P<a>\w+)\} runs into \{(?P<b>\w+)\}.*$"),
     N_("The template %(t)s: {%(a)s} runs into {%(b)s}; put a separator between them "
        "or give {%(a)s} a fixed width, e.g. {%(a)s:02d}.")),
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

# Fixed messages of the kernel and of marshmallow that forms may show.
KNOWN_MESSAGES = [
    N_("This field is required."),
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Unknown field."),
    N_("Unknown preference."),
    N_("Unknown time zone."),
    N_("Not a valid email address."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid number."),
    N_("Not a valid integer."),
    N_("Not a valid boolean."),
    N_("Not a valid string."),
    N_("Not a valid list."),
    N_("Invalid value."),
    N_("Choose at least one."),
    N_("Customers cannot set this field."),
    N_("Only an active agent can be the manager."),
    N_("Phone number is empty."),
    N_("The current password is wrong."),
    N_("You cannot deactivate yourself."),
    N_("Give the token a name of 1 to 100 characters."),
    N_("The user is deactivated."),
    N_("Token not found."),
    N_("Ticket not found."),
    N_("File not found."),
    N_("Write a message or attach a file."),
    N_("At most 200 characters."),
    N_("Your account is not linked to a customer."),
]


def translate_message(text: str | None) -> str:
    """A kernel refusal message in the current language (English when unknown)."""
    if not text:
        return ""
    translated = gettext_raw(text)
    if translated != text:
        return translated
    for pattern, msgid in MESSAGE_PATTERNS:
        match = pattern.match(text)
        if match:
            return gettext_raw(msgid) % match.groupdict()
    return text


def translate_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {key: [translate_message(m) for m in messages] for key, messages in errors.items()}


# -- the language switcher ----------------------------------------------------------


@bp.post("/language")
def switch_language():
    """The switcher in the header: remember the choice (and save it for a
    signed-in user), then go back to the page."""
    from web.auth import safe_next

    lang = request.form.get("lang", "")
    target = safe_next(request.form.get("next")) or "/"
    response = redirect(target, code=303)
    if lang not in LOCALES:
        return response
    session["lang"] = lang
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    user = _user()
    if user is not None and user.locale != lang:
        users.update_preferences(user, {"locale": lang}, actor=user)
    return response


def init_app(app: Flask) -> None:
    host = app.extensions["hookdesk"]
    folders = [str(path) for _plugin, path in host.collect("hookdesk_register_translations")]
    # Later folders win when two translate the same word: the application's own last.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join([*folders, TRANSLATIONS])
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["HOOKDESK_DEFAULT_LOCALE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["HOOKDESK_DEFAULT_TIMEZONE"]
    # One Babel per app: its translation cache must not be shared between apps
    # with different plugins.
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        localdt=localdt, localdate=localdate, localtime=localtime, reltime=reltime,
        tl=translate_label, tmsg=translate_message,
    )
    app.jinja_env.globals.update(
        current_locale=current_locale, LOCALES=LOCALES, LOCALE_NAMES=LOCALE_NAMES,
    )
    app.register_blueprint(bp)
