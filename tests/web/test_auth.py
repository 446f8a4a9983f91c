"""Signing in and out, registration with the password or a link by e-mail,
forgotten passwords, safe redirects and CSRF (P1) — through the test client and a
real SMTP server on loopback."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from kernel.db import db
from kernel.models import Customer, User
from kernel.services import customers, users
from web.auth import TOKEN_SALT
from web.testing import login

AGENT_PW = "agent-pass-1"
BUYER_PW = "buyer-pass-1"


def post_login(client, email, password, next_url=None, **kwargs):
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password}, **kwargs)


def signed_in_as(client):
    """The e-mail of whoever ``client`` is signed in as, read from the page."""
    page = client.get("/settings/")
    if page.status_code != 200:
        return None
    found = re.search(r'<div class="user-menu__who">\s*<b>[^<]*</b>\s*<span class="muted">([^<]+)<',
                      page.get_data(as_text=True))
    return found.group(1) if found else None


def link_path(mailbox, message) -> str:
    (link,) = [u for u in mailbox.links(message) if "/auth/password/" in u]
    return urlsplit(link).path


# -- logging in and out -------------------------------------------------------------


def test_login_page_is_the_front_door(client):
    front = client.get("/")
    assert front.status_code == 302 and front.headers["Location"].endswith("/auth/login")
    page = client.get("/auth/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'name="email"' in html and 'name="password"' in html


def test_agent_logs_in_and_lands_on_the_ticket_table(client, agent):
    response = post_login(client, agent.email, AGENT_PW)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/agent/"
    assert client.get("/agent/").status_code == 200
    assert signed_in_as(client) == agent.email


def test_customer_lands_on_their_tickets(client, customer_user):
    post_login(client, "BUYER@test.example ", BUYER_PW)  # case and spaces do not matter
    assert client.get("/").headers["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client, agent):
    wrong = post_login(client, agent.email, "not-the-password")
    unknown = post_login(client, "nobody@test.example", "whatever-1")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Неверный адрес электронной почты или пароль." in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_empty_form_is_refused_with_field_errors(client):
    response = post_login(client, "", "")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in_and_loses_their_session(app, client, agent, admin):
    other = app.test_client()
    login(other, agent)
    assert signed_in_as(other) == agent.email
    users.set_active(agent, False, actor=admin)
    refused = post_login(client, agent.email, AGENT_PW)
    assert refused.status_code == 403
    assert "учётная запись отключена" in refused.get_data(as_text=True)
    assert signed_in_as(client) is None
    assert signed_in_as(other) is None  # the open session ends too


def test_logout_is_a_post_with_csrf(client, agent):
    login(client, agent)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout", csrf=False).status_code == 400
    assert signed_in_as(client) == agent.email
    response = client.post("/auth/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    assert signed_in_as(client) is None
    assert "Вы вышли из системы." in client.get("/auth/login").get_data(as_text=True)


def test_missing_or_forged_csrf_token_is_refused(client, agent):
    missing = post_login(client, agent.email, AGENT_PW, csrf=False)
    assert missing.status_code == 400
    assert "Форма устарела" in missing.get_data(as_text=True)
    forged = client.post("/auth/login", csrf=False, data={
        "email": agent.email, "password": AGENT_PW, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert signed_in_as(client) is None


def test_pages_need_login_and_the_right_kind_of_user(client, agent, customer_user):
    anonymous = client.get("/portal/")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/auth/login?next=%2Fportal%2F"
    login(client, customer_user)
    refused = client.get("/agent/")
    assert refused.status_code == 403 and "Доступ запрещён" in refused.get_data(as_text=True)
    assert client.get("/status").status_code == 403
    login(client, agent)
    assert client.get("/portal/").status_code == 403
    assert client.get("/status").status_code == 403  # needs admin.settings


@pytest.mark.parametrize(("target", "expected"), [
    ("/settings/", "/settings/"),
    ("/settings/?tab=password", "/settings/?tab=password"),
    ("http://localhost/settings/", "/settings/"),
    ("//evil.example/", "/"),
    ("https://evil.example/settings/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirects_stay_on_the_site(client, agent, target, expected):
    from urllib.parse import quote

    response = post_login(client, agent.email, AGENT_PW, next_url=quote(target, safe=""))
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_remember_me_sets_a_lasting_httponly_cookie(client, agent):
    response = client.post("/auth/login", data={"email": agent.email, "password": AGENT_PW,
                                                "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("hookdesk_remember=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    session = [c for c in cookies if c.startswith("hookdesk_session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=Lax" in session[0]


# -- registration -------------------------------------------------------------------


def register(client, **data):
    data.setdefault("name", "Мария Иванова")
    data.setdefault("email", "maria@test.example")
    data.setdefault("phone", "")
    return client.post("/auth/register", data=data)


def test_registration_sends_a_set_password_link_in_russian(app, client, mailbox):
    response = register(client, phone="8 (912) 345-67-89")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/check-email?reason=register"
    assert "Проверьте почту" in client.get(response.headers["Location"]).get_data(as_text=True)

    user = users.by_email("maria@test.example")
    assert user.is_customer and user.password_hash is None and user.locale == "ru"
    assert user.customer.name == "Мария Иванова"
    assert [p.number for p in user.customer.phones] == ["+79123456789"]

    message = mailbox.last
    assert mailbox.to("maria@test.example") == [message]
    assert message["Subject"] == "Добро пожаловать в Hookdesk: задайте пароль"
    assert "Мария Иванова" in message["To"]
    assert "Здравствуйте, Мария Иванова!" in mailbox.text(message)
    assert "Задать пароль" in mailbox.html(message)
    path = link_path(mailbox, message)

    page = client.get(path)
    assert page.status_code == 200 and "Задайте пароль" in page.get_data(as_text=True)
    mismatch = client.post(path, data={"password": "new-secret-1", "confirm": "other-secret"})
    assert mismatch.status_code == 422 and "Пароли не совпадают." in mismatch.get_data(
        as_text=True)
    done = client.post(path, data={"password": "new-secret-1", "confirm": "new-secret-1"})
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert signed_in_as(client) == "maria@test.example"

    client.post("/auth/logout")
    assert post_login(client, "maria@test.example", "new-secret-1").status_code == 303
    assert client.get(path).status_code == 400  # the link is spent once used


def test_registration_in_english_gets_an_english_letter(client, mailbox):
    client.post("/language", data={"lang": "en", "next": "/auth/register"})
    form = client.get("/auth/register").get_data(as_text=True)
    assert "Create an account" in form
    register(client, name="John Smith", email="john@test.example")
    message = mailbox.last
    assert message["Subject"] == "Welcome to Hookdesk: choose your password"
    assert "Hello, John Smith!" in mailbox.text(message)
    assert users.by_email("john@test.example").locale == "en"


@pytest.mark.app_config(HOOKDESK_REGISTRATION="password")
def test_registration_can_send_the_password_itself(client, mailbox):
    page = client.get("/auth/register").get_data(as_text=True)
    assert "Мы пришлём на почту пароль для входа." in page
    register(client)
    message = mailbox.last
    assert message["Subject"] == "Ваш пароль для входа в Hookdesk"
    password = re.search(r"Пароль: (\S+)", mailbox.text(message)).group(1)
    assert post_login(client, "maria@test.example", password).status_code == 303
    assert signed_in_as(client) == "maria@test.example"


@pytest.mark.app_config(HOOKDESK_REGISTRATION="off")
def test_registration_can_be_closed(client):
    assert client.get("/auth/register").status_code == 404
    assert "/auth/register" not in client.get("/auth/login").get_data(as_text=True)


def test_registering_a_taken_email_reveals_nothing(client, customer_user, mailbox):
    response = register(client, email="buyer@test.example", name="Someone Else")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/check-email?reason=register"
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    message = mailbox.last
    assert message["Subject"] == "У вас уже есть учётная запись в Hookdesk"
    # The owner of the address gets a way in instead.
    path = link_path(mailbox, message)
    assert client.get(path).status_code == 200


def test_registration_errors_are_shown_and_nothing_is_created(client, mailbox):
    response = register(client, phone="12")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="phone-error"' in html and "неверный номер телефона" in html
    assert 'value="Мария Иванова"' in html  # what was typed is kept
    bad_email = register(client, email="not-an-email")
    assert bad_email.status_code == 422 and 'id="email-error"' in bad_email.get_data(as_text=True)
    assert users.by_email("maria@test.example") is None
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 0
    assert mailbox.messages == []


def test_registration_joins_the_customer_that_has_this_email(client, mailbox):
    known = customers.create({"name": "ООО Ромашка", "emails": ["maria@test.example"],
                              "phones": ["+7 903 111-22-33"]})
    register(client)
    user = users.by_email("maria@test.example")
    assert user.customer_id == known.id
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


# -- forgotten password -------------------------------------------------------------------


def test_forgotten_password_reset_by_link(app, client, customer_user, mailbox):
    elsewhere = app.test_client()
    login(elsewhere, customer_user)
    response = client.post("/auth/forgot", data={"email": "buyer@test.example"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/check-email?reason=reset"
    message = mailbox.last
    assert message["Subject"] == "Восстановление пароля в Hookdesk"
    path = link_path(mailbox, message)
    page = client.get(path)
    assert "Задайте новый пароль" in page.get_data(as_text=True)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and 'id="password-error"' in short.get_data(as_text=True)
    done = client.post(path, data={"password": "brand-new-pass", "confirm": "brand-new-pass"})
    assert done.status_code == 303
    assert signed_in_as(client) == "buyer@test.example"
    assert signed_in_as(elsewhere) is None  # a reset ends the other sessions

    client.post("/auth/logout")
    assert post_login(client, "buyer@test.example", BUYER_PW).status_code == 401
    assert post_login(client, "buyer@test.example", "brand-new-pass").status_code == 303
    assert client.get(path).status_code == 400


def test_forgotten_password_for_unknown_or_deactivated_address_sends_nothing(
    client, agent, admin, mailbox
):
    users.set_active(agent, False, actor=admin)
    for email in ("nobody@test.example", agent.email):
        response = client.post("/auth/forgot", data={"email": email})
        assert response.status_code == 303
        assert response.headers["Location"] == "/auth/check-email?reason=reset"
    assert mailbox.messages == []


def test_password_links_expire_and_cannot_be_forged(app, client, customer_user):
    class PastSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - (app.config["HOOKDESK_PASSWORD_LINK_HOURS"] + 1) * 3600

    payload = {"u": customer_user.id, "s": customer_user.password_stamp, "p": "reset"}
    old = URLSafeTimedSerializer(app.secret_key, salt=TOKEN_SALT, signer=PastSigner).dumps(payload)
    expired = client.get(f"/auth/password/{old}")
    assert expired.status_code == 400
    assert "Ссылка больше не действует" in expired.get_data(as_text=True)
    forged = URLSafeTimedSerializer("another-secret", salt=TOKEN_SALT).dumps(payload)
    assert client.get(f"/auth/password/{forged}").status_code == 400
    good = URLSafeTimedSerializer(app.secret_key, salt=TOKEN_SALT).dumps(payload)
    assert client.get(f"/auth/password/{good}").status_code == 200
