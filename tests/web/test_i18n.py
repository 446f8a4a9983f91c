"""Russian and English (X2): the catalogues are complete, the language follows the
account, the switcher and the browser; times follow the reader's time zone;
words declared by the kernel and plugins are translated; plugins ship their own
catalogues (``hookdesk_register_translations``)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po
from flask import render_template_string

from kernel import hookimpl
from kernel.db import db
from kernel.services import tokens, users
from kernel.testing import build_app
from web import i18n
from web.testing import login

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None,
            "lazy_gettext": None}


def extracted_msgids() -> set[str | tuple[str, str]]:
    """What ``make messages`` would extract, read the same way (babel.cfg)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: set = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_every_word_of_the_application_has_a_russian_translation():
    ru = catalog("ru")
    translated = {}
    for message in ru:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id[:2])
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        translated[key] = all(strings) and "fuzzy" not in message.flags
    missing = sorted(str(m) for m in extracted_msgids() if not translated.get(m))
    assert not missing, (
        "words without a Russian translation — run `make messages`, translate them in "
        f"web/translations/ru/LC_MESSAGES/messages.po, then `make translations`: {missing}")


def entries(messages) -> dict:
    def frozen(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in messages if m.id}


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_compiled_catalogues_match_their_sources(locale):
    source = catalog(locale)
    buffer = io.BytesIO()
    write_mo(buffer, source)
    expected = entries(read_mo(io.BytesIO(buffer.getvalue())))
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        compiled = entries(read_mo(fh))
    assert compiled == expected, "run `make translations`: a .mo is older than its .po"


def test_russian_plurals_have_three_forms():
    ru = catalog("ru")
    assert ru.num_plurals == 3
    plurals = [m for m in ru if m.pluralizable]
    assert plurals and all(len(m.string) == 3 and all(m.string) for m in plurals)


# -- choosing the language ---------------------------------------------------------------


def test_russian_is_the_default_and_the_browser_can_ask_for_english(client):
    russian = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="ru"' in russian and "Забыли пароль?" in russian
    assert "Forgot your password?" not in russian
    english = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    html = english.get_data(as_text=True)
    assert '<html lang="en"' in html and "Forgot your password?" in html
    assert "Забыли пароль?" not in html
    german = client.get("/auth/login", headers={"Accept-Language": "de"})
    assert "Забыли пароль?" in german.get_data(as_text=True)


@pytest.mark.app_config(HOOKDESK_DEFAULT_LOCALE="en")
def test_the_default_language_is_configurable(client):
    assert "Forgot your password?" in client.get("/auth/login").get_data(as_text=True)


def test_the_switcher_remembers_the_choice_of_a_visitor(client):
    response = client.post("/language", data={"lang": "en", "next": "/auth/forgot"},
                           headers={"Accept-Language": "ru"})
    assert response.status_code == 303 and response.headers["Location"] == "/auth/forgot"
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("hookdesk_lang=")]
    assert cookie and "HttpOnly" in cookie[0]
    page = client.get("/auth/forgot", headers={"Accept-Language": "ru"})
    assert "Send the link" in page.get_data(as_text=True)
    client.post("/language", data={"lang": "ru", "next": "https://evil.example/"})
    assert "Отправить ссылку" in client.get("/auth/forgot").get_data(as_text=True)


def test_a_bad_choice_or_a_foreign_next_changes_nothing(client):
    response = client.post("/language", data={"lang": "xx", "next": "//evil.example/x"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Забыли пароль?" in client.get("/auth/login").get_data(as_text=True)


def test_a_signed_in_user_sees_their_own_language_and_the_switcher_saves_it(
    client, customer_user
):
    users.update_preferences(customer_user, {"locale": "en"})
    login(client, customer_user)
    page = client.get("/portal/", headers={"Accept-Language": "ru"})
    assert "My tickets" in page.get_data(as_text=True)
    client.post("/language", data={"lang": "ru", "next": "/portal/"})
    db.session.expire_all()
    assert users.by_email(customer_user.email).locale == "ru"
    assert "Мои заявки" in client.get("/portal/").get_data(as_text=True)


def test_the_language_picked_before_signing_in_becomes_the_accounts(client, customer_user):
    client.post("/language", data={"lang": "en", "next": "/auth/login"})
    client.post("/auth/login", data={"email": customer_user.email, "password": "buyer-pass-1"})
    db.session.expire_all()
    assert users.by_email(customer_user.email).locale == "en"
    assert "My tickets" in client.get("/portal/").get_data(as_text=True)


def test_a_russian_page_shows_no_english_words_of_our_catalogue(client, agent):
    """Every word on a Russian page that our catalogue knows is shown translated."""
    login(client, agent)
    english = {m.id for m in catalog("ru") if isinstance(m.id, str) and m.id and m.string
               and m.id != m.string and len(m.id) > 3}
    for url in ("/agent/", "/settings/", "/no-such-page"):
        html = client.get(url).get_data(as_text=True)
        shown = {word for word in english if f">{word}<" in html and word != agent.name}
        assert not shown, f"{url} shows untranslated words: {sorted(shown)}"


# -- times in the reader's time zone ------------------------------------------------------


MOMENT = datetime(2024, 5, 12, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(("locale", "tz", "medium", "short", "date"), [
    ("ru", "Europe/Moscow", "12 мая 2024\u202fг., 14:30", "12.05.2024, 14:30",
     "12 мая 2024\u202fг."),
    ("ru", "Asia/Vladivostok", "12 мая 2024\u202fг., 21:30", "12.05.2024, 21:30",
     "12 мая 2024\u202fг."),
    ("en", "America/New_York", "May 12, 2024, 7:30\u202fAM", "5/12/24, 7:30\u202fAM",
     "May 12, 2024"),
    ("en", "Pacific/Kiritimati", "May 13, 2024, 1:30\u202fAM", "5/13/24, 1:30\u202fAM",
     "May 13, 2024"),
])
def test_dates_in_the_readers_language_and_time_zone(app, locale, tz, medium, short, date):
    with i18n.use(locale, tz):
        assert i18n.localdt(MOMENT) == medium
        assert i18n.localdt(MOMENT, "short") == short
        assert i18n.localdate(MOMENT) == date
        assert i18n.localdt(MOMENT.replace(tzinfo=None)) == medium  # naive means UTC
        assert i18n.localdt(MOMENT.isoformat()) == medium  # as JSON values keep it
        assert i18n.localdt(None) == ""


def test_relative_times(app):
    now = datetime(2024, 5, 12, 12, 0, tzinfo=UTC)
    with i18n.use("ru"):
        assert i18n.reltime(now - timedelta(minutes=5), now=now) == "5 минут назад"
        assert i18n.reltime(now + timedelta(days=2), now=now) == "через 2 дня"
    with i18n.use("en"):
        assert i18n.reltime(now - timedelta(hours=3), now=now) == "3 hours ago"


def test_time_zone_choices_are_labelled_with_their_offset_and_city(app):
    with i18n.use("ru"):
        choices = dict(i18n.timezone_choices(now=MOMENT))
    assert choices["Europe/Moscow"] == "(UTC+03:00) Москва"
    assert choices["America/New_York"] == "(UTC-04:00) Нью-Йорк"
    with i18n.use("en"):
        choices = dict(i18n.timezone_choices(now=MOMENT))
    assert choices["Asia/Kolkata"] == "(UTC+05:30) Kolkata"
    assert choices["America/New_York"] == "(UTC-04:00) New York"
    assert "UTC" in choices and "Etc/GMT+3" not in choices


def test_changing_the_time_zone_changes_the_times_on_pages(client, agent):
    row, _secret = tokens.create(agent, "ci")
    row.created_at = MOMENT
    db.session.commit()
    login(client, agent)
    moscow = client.get("/settings/").get_data(as_text=True)
    assert 'title="12 мая 2024\u202fг., 14:30"' in moscow
    client.post("/settings/preferences", data={"name": "Agent", "locale": "ru",
                                               "timezone": "Asia/Vladivostok",
                                               "page_size": "20"})
    vladivostok = client.get("/settings/").get_data(as_text=True)
    assert 'title="12 мая 2024\u202fг., 21:30"' in vladivostok


# -- the kernel's and plugins' words -----------------------------------------------------


def test_declared_labels_and_kernel_messages_are_translated(app):
    with i18n.use("ru"):
        assert i18n.translate_label("In progress") == "В работе"
        assert i18n.translate_label("Contract number") == "№ договора"
        assert i18n.translate_label("Renamed by an admin: 100%") == "Renamed by an admin: 100%"
        assert i18n.translate_message("This field is required.") == "Обязательное поле."
        assert i18n.translate_message("At least 8 characters.") == "Не короче 8 символов."
        assert i18n.translate_message("Longer than maximum length 300.") == (
            "Не длиннее 300 символов.")
        assert i18n.translate_message("'12' is not a valid phone number.") == (
            "12 — неверный номер телефона.")
        assert i18n.translate_message("'x' is not an allowed choice; allowed: a, b.") == (
            "Значение 'x' выбрать нельзя.")
        assert i18n.translate_message("Something only the kernel says.") == (
            "Something only the kernel says.")
        html = render_template_string("{{ 'Waiting for customer'|tl }}|{{ _('Settings') }}")
        assert html == "Ждёт ответа покупателя|Настройки"
    with i18n.use("en"):
        assert i18n.translate_label("In progress") == "In progress"
        assert i18n.translate_message("At least 8 characters.") == "At least 8 characters."


def compile_catalogue(folder: Path, locale: str, words: dict[str, str]) -> None:
    source = io.BytesIO()
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for msgid, msgstr in words.items():
        lines += [f'msgid "{msgid}"', f'msgstr "{msgstr}"', ""]
    source.write("\n".join(lines).encode())
    source.seek(0)
    parsed = read_po(source, locale=locale)
    target = folder / locale / "LC_MESSAGES"
    os.makedirs(target)
    with open(target / "messages.mo", "wb") as fh:
        write_mo(fh, parsed)
    with open(target / "messages.po", "wb") as fh:
        write_po(fh, parsed)


def test_hookdesk_register_translations(tmp_path):
    """A plugin's catalogue translates its own words; the application's own
    translation of a shared word wins."""
    folder = tmp_path / "probe_translations"
    compile_catalogue(folder, "ru", {"Probe warranty": "Гарантия (проба)",
                                     "Settings": "Параметры пробы"})

    class Probe:
        @hookimpl
        def hookdesk_register_translations(self):
            return str(folder)

    app = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": Probe()})
    with app.app_context():
        with i18n.use("ru"):
            assert i18n.translate_label("Probe warranty") == "Гарантия (проба)"
            assert i18n.translate_label("Settings") == "Настройки"
        with i18n.use("en"):
            assert i18n.translate_label("Probe warranty") == "Probe warranty"
        db.session.remove()
        db.engine.dispose()
