"""The settings page (P2): language, time zone, tickets per page, password; personal
API tokens for agents — changed through the services, errors beside their fields."""

from __future__ import annotations

import re

import pytest

from kernel.db import db
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.models import ApiToken
from kernel.services import users
from web.testing import login

PREFS = {"name": "Agent", "locale": "ru", "timezone": "Europe/Moscow", "page_size": "20"}


def reload(user):
    db.session.expire_all()
    return users.by_email(user.email)


def field_error(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


@pytest.fixture
def signed_in(client, agent):
    login(client, agent)
    return client


def test_settings_need_login(client):
    response = client.get("/settings/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_customers_see_their_settings_without_tokens(client, customer_user):
    login(client, customer_user)
    html = client.get("/settings/").get_data(as_text=True)
    assert "Личные настройки" in html and "Пароль" in html
    assert "Токены API" not in html
    assert client.post("/settings/tokens", data={"name": "x"}).status_code == 403


def test_preferences_are_saved(signed_in, agent):
    html = signed_in.get("/settings/").get_data(as_text=True)
    assert '<option selected value="Europe/Moscow">(UTC+03:00) Москва</option>' in html
    response = signed_in.post("/settings/preferences", data={
        "name": "Игорь Агентов", "locale": "en", "timezone": "Asia/Yekaterinburg",
        "page_size": "50"})
    assert response.status_code == 303
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your settings are saved." in page  # already in the new language
    user = reload(agent)
    assert (user.name, user.locale, user.timezone, user.page_size) == (
        "Игорь Агентов", "en", "Asia/Yekaterinburg", 50)
    assert '<option selected value="50">50</option>' in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("timezone", "Mars/Olympus", "Неизвестный часовой пояс."),
    ("page_size", "7", "Выберите одно из значений: 10, 20, 50, 100."),
    ("locale", "de", "Выберите одно из значений: ru, en."),
])
def test_bad_preferences_are_refused_beside_their_field(signed_in, agent, field, value, message):
    response = signed_in.post("/settings/preferences", data={**PREFS, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, field) == message
    assert 'aria-invalid="true"' in html
    user = reload(agent)
    assert (user.locale, user.timezone, user.page_size) == ("ru", "Europe/Moscow", 20)


def test_preferences_form_needs_its_csrf_token(signed_in, agent):
    response = signed_in.post("/settings/preferences", csrf=False,
                              data={**PREFS, "locale": "en"})
    assert response.status_code == 400
    assert reload(agent).locale == "ru"


def test_password_change(app, signed_in, agent):
    elsewhere = app.test_client()
    login(elsewhere, agent)
    wrong = signed_in.post("/settings/password", data={
        "current_password": "nope-nope", "new_password": "new-pass-12", "confirm": "new-pass-12"})
    assert wrong.status_code == 422
    assert field_error(wrong.get_data(as_text=True), "current_password") == (
        "Текущий пароль указан неверно.")
    mismatch = signed_in.post("/settings/password", data={
        "current_password": "agent-pass-1", "new_password": "new-pass-12", "confirm": "other"})
    assert field_error(mismatch.get_data(as_text=True), "confirm") == "Пароли не совпадают."
    short = signed_in.post("/settings/password", data={
        "current_password": "agent-pass-1", "new_password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert field_error(short.get_data(as_text=True), "new_password")
    assert reload(agent).check_password("agent-pass-1")

    done = signed_in.post("/settings/password", data={
        "current_password": "agent-pass-1", "new_password": "new-pass-12",
        "confirm": "new-pass-12"})
    assert done.status_code == 303
    assert reload(agent).check_password("new-pass-12")
    assert signed_in.get("/settings/").status_code == 200  # this session goes on
    assert elsewhere.get("/settings/").status_code == 302  # the others end


def test_the_service_checks_preferences_and_who_may_change_them(agent, customer_user):
    with pytest.raises(ValidationFailed) as refused:
        users.update_preferences(agent, {"page_size": True, "colour": "red", "name": 5})
    assert set(refused.value.errors) == {"page_size", "colour", "name"}
    with pytest.raises(PermissionDenied):
        users.update_preferences(agent, {"locale": "en"}, actor=customer_user)
    assert users.update_preferences(agent, {"page_size": "100"}) == {"page_size": [20, 100]}
    assert users.update_preferences(agent, {"page_size": 100}) == {}
    with pytest.raises(ValidationFailed) as wrong:
        users.change_password(agent, "wrong", "whatever-123")
    assert set(wrong.value.errors) == {"current_password"}


# -- personal API tokens ---------------------------------------------------------------


def api_status(client, secret: str) -> int:
    return client.get("/api/v1/tickets",
                      headers={"Authorization": f"Bearer {secret}"}).status_code


def test_agent_creates_a_token_sees_it_once_and_revokes_it(signed_in, agent):
    empty = signed_in.get("/settings/").get_data(as_text=True)
    assert "У вас пока нет токенов." in empty
    created = signed_in.post("/settings/tokens", data={"name": "Интеграция с 1С"})
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    secret = re.search(r'<code id="new-token-secret">([^<]+)</code>', html).group(1)
    assert secret.startswith("hd_")
    assert "Токен «Интеграция с 1С» создан" in html
    assert api_status(signed_in, secret) == 200

    later = signed_in.get("/settings/").get_data(as_text=True)
    assert secret not in later and "Интеграция с 1С" in later  # shown once only
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == agent.id))
    assert f"/settings/tokens/{row.id}/revoke" in later

    assert signed_in.post(f"/settings/tokens/{row.id}/revoke", csrf=False).status_code == 400
    assert api_status(signed_in, secret) == 200
    revoked = signed_in.post(f"/settings/tokens/{row.id}/revoke")
    assert revoked.status_code == 303
    assert api_status(signed_in, secret) == 401
    page = signed_in.get("/settings/").get_data(as_text=True)
    assert "отозван" in page and f"/settings/tokens/{row.id}/revoke" not in page


def test_token_name_is_required(signed_in):
    response = signed_in.post("/settings/tokens", data={"name": ""})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "name") == "Обязательное поле."


def test_nobody_revokes_another_agents_token(app, signed_in, agent):
    from kernel.services import tokens

    other = users.create({"email": "other@test.example", "password": "other-pass-1",
                          "roles": ["agent"]})
    row, secret = tokens.create(other, "theirs")
    assert signed_in.post(f"/settings/tokens/{row.id}/revoke").status_code == 404
    assert api_status(signed_in, secret) == 200
