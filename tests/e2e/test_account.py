"""Journeys of the account pages in a real browser (P1, P2, X2): registering and
choosing the password from the letter, the password in the letter, the language
switch, settings (time zone, tickets per page) and a forgotten password."""

from __future__ import annotations

import re

import pytest
from e2e_helpers import letter, link_in, log_in, log_out

from kernel.services import users


def stored_user(live, email: str) -> dict:
    with live.db():
        user = users.by_email(email)
        assert user is not None, email
        return {"locale": user.locale, "timezone": user.timezone, "page_size": user.page_size,
                "kind": user.kind, "name": user.name}


def test_register_choose_password_from_the_letter_and_log_in(page, live_server, shot):
    live = live_server
    page.goto("/auth/login")
    assert page.inner_text("h1") == "Войти"
    shot(page, "login", phone=True)
    page.click('.auth__links a[href$="/auth/register"]')
    page.wait_for_url("**/auth/register")

    # Nothing filled in: errors beside the fields, nothing written, no letter.
    page.click("form.form button[type=submit]")
    assert page.locator(".field--error").count() >= 2
    assert page.locator('[data-field="email"] .field-error').is_visible()

    page.fill("#name", "Ирина Соколова")
    page.fill("#email", "irina@example.com")
    page.fill("#phone", "+7 912 345-67-89")
    shot(page, "register", phone=True)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/auth/check-email*")
    assert "Проверьте почту" in page.inner_text("h1")
    shot(page, "register-check-email")

    message = letter(live.mailbox, "irina@example.com")
    assert "задайте пароль" in message["Subject"]
    assert "Ирина Соколова" in live.mailbox.text(message)
    link = link_in(live.mailbox, message, "/auth/password/")
    assert link.startswith(live.url), "the link leads to this site (HOOKDESK_BASE_URL)"

    page.goto(live.path(link))
    # Too short and different passwords are refused beside the field.
    page.fill("#password", "short")
    page.fill("#confirm", "other")
    page.click("form.form button[type=submit]")
    assert page.locator('[data-field="password"] .field-error').is_visible()
    page.fill("#password", "sokolova-2024")
    page.fill("#confirm", "sokolova-2024")
    shot(page, "set-password")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/portal/")
    assert "Пароль задан" in page.inner_text(".flashes")
    assert stored_user(live, "irina@example.com")["kind"] == "customer"

    # The link is spent once the password is set.
    assert page.goto(live.path(link)).status == 400
    assert page.locator("#password").count() == 0

    log_out(page)
    assert "Вы вышли" in page.inner_text(".flashes")
    log_in(page, "irina@example.com", "sokolova-2024")
    assert page.url.endswith("/portal/")


@pytest.mark.app_config(HOOKDESK_REGISTRATION="password")
def test_register_with_the_password_in_the_letter(page, live_server):
    live = live_server
    page.goto("/auth/register")
    page.fill("#name", "Pavel Orlov")
    page.fill("#email", "pavel@example.com")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/auth/check-email*")
    text = live.mailbox.text(letter(live.mailbox, "pavel@example.com"))
    found = re.search(r"[Пп]ароль[^:\n]*:\s*(\S+)", text)
    assert found, text
    password = found.group(1)

    page.goto("/auth/login")
    page.fill("#email", "pavel@example.com")
    page.fill("#password", "wrong-password")
    page.click("form.form button[type=submit]")
    assert "Неверный адрес" in page.inner_text(".form-errors")

    log_in(page, "pavel@example.com", password)
    assert page.url.endswith("/portal/")


def test_language_switch_before_and_after_signing_in(page, live_server, shot):
    live = live_server
    live.user("anna@example.com", "anna-pass-1", name="Anna Smirnova")
    page.goto("/auth/login")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.inner_text("h1") == "Войти"

    page.click('.lang-switch button[value="en"]')
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Log in"
    assert page.url.endswith("/auth/login"), "the switch comes back to the same page"
    shot(page, "login-en")

    # The language chosen before signing in becomes the account's.
    log_in(page, "anna@example.com", "anna-pass-1")
    assert page.get_attribute("html", "lang") == "en"
    assert stored_user(live, "anna@example.com")["locale"] == "en"
    page.goto("/settings/")
    assert page.inner_text("h1") == "Settings"
    shot(page, "settings-en")

    page.click('.lang-switch button[value="ru"]')
    page.wait_for_load_state()
    assert page.url.endswith("/settings/")
    assert page.inner_text("h1") == "Настройки"
    assert stored_user(live, "anna@example.com")["locale"] == "ru"

    # A new browser (no cookie) still gets the account's language after logging in.
    context = page.context.browser.new_context(base_url=live.url, locale="en-US")
    other = context.new_page()
    try:
        log_in(other, "anna@example.com", "anna-pass-1")
        assert other.get_attribute("html", "lang") == "ru"
    finally:
        context.close()


def _shown_time(page) -> int:
    """Minutes past midnight of the "now" the settings page shows."""
    help_text = page.locator("#preferences p.help").last.inner_text()
    found = re.search(r"(\d{1,2}):(\d{2})", help_text)
    assert found, help_text
    return int(found.group(1)) * 60 + int(found.group(2))


def test_settings_time_zone_and_page_size(page, live_server, shot):
    live = live_server
    live.user("oleg@example.com", "oleg-pass-1", name="Олег Петров", timezone="Europe/Moscow")
    log_in(page, "oleg@example.com", "oleg-pass-1")
    page.goto("/settings/")
    assert page.input_value("#timezone") == "Europe/Moscow"
    before = _shown_time(page)

    page.select_option("#timezone", "Asia/Vladivostok")   # UTC+10, Moscow is UTC+3
    page.select_option("#page_size", "50")
    page.fill("#name", "Олег Петрович Петров")
    shot(page, "settings", phone=True)
    page.click("#preferences button[type=submit]")
    page.wait_for_url("**/settings/")
    assert "Настройки сохранены" in page.inner_text(".flashes")
    assert page.input_value("#timezone") == "Asia/Vladivostok"
    assert page.input_value("#page_size") == "50"
    after = _shown_time(page)
    shift = (after - before) % (24 * 60)
    assert 7 * 60 <= shift <= 7 * 60 + 2, (before, after)
    assert page.inner_text(".user-menu__name") == "Олег Петрович Петров"
    saved = stored_user(live, "oleg@example.com")
    assert (saved["timezone"], saved["page_size"]) == ("Asia/Vladivostok", 50)

    # A time zone that does not exist is refused beside the field; nothing changes.
    page.evaluate("""() => {
        const select = document.querySelector('#timezone');
        select.add(new Option('Mars/Olympus', 'Mars/Olympus'));
        select.value = 'Mars/Olympus';
    }""")
    page.click("#preferences button[type=submit]")
    assert page.locator('[data-field="timezone"] .field-error').is_visible()
    assert stored_user(live, "oleg@example.com")["timezone"] == "Asia/Vladivostok"


def test_forgotten_password(page, live_server, shot):
    live = live_server
    live.user("maria@example.com", "maria-old-pass", name="Мария")
    page.goto("/auth/login")
    page.click("text=Забыли пароль?")
    page.wait_for_url("**/auth/forgot")
    page.fill("#email", "maria@example.com")
    shot(page, "forgot-password")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/auth/check-email*")

    message = letter(live.mailbox, "maria@example.com")
    page.goto(live.path(link_in(live.mailbox, message, "/auth/password/")))
    page.fill("#password", "maria-new-pass")
    page.fill("#confirm", "maria-new-pass")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/portal/")
    assert "Пароль изменён" in page.inner_text(".flashes")

    log_out(page)
    page.fill("#email", "maria@example.com")
    page.fill("#password", "maria-old-pass")
    page.click("form.form button[type=submit]")
    assert "Неверный адрес" in page.inner_text(".form-errors")
    log_in(page, "maria@example.com", "maria-new-pass")
    assert page.url.endswith("/portal/")

    # An unknown address gets the same answer and no letter.
    log_out(page)
    page.goto("/auth/forgot")
    page.fill("#email", "nobody@example.com")
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/auth/check-email*")
    assert live.mailbox.to("nobody@example.com") == []

