"""Sessions end on the server (issue 9, defect 3; X5).

An attacker copies a person's session cookie (``hookdesk_session``) and
remember-me cookie (``hookdesk_remember``) while they are signed in. After the
person logs out, changes the password, is deactivated, or is signed out
everywhere (by themselves or an admin), neither copy opens the portal or the
agent workspace any more — on any door.
"""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.services import tokens, users
from web.testing import login

SESSION = "hookdesk_session"
REMEMBER = "hookdesk_remember"
PASSWORDS = {"agent@test.example": "agent-pass-1", "buyer@test.example": "buyer-pass-1"}
DOORS = {"customer": "/portal/", "agent": "/agent/"}


@pytest.fixture(params=sorted(DOORS))
def person(request, app):
    """The agent (door ``/agent/``) or the customer (door ``/portal/``)."""
    return request.getfixturevalue("agent" if request.param == "agent" else "customer_user")


def door(user) -> str:
    return DOORS["agent" if user.is_agent else "customer"]


def sign_in(app, user, remember=True):
    """A browser signed in through the login form, with "remember me"."""
    client = app.test_client()
    response = client.post("/auth/login", data={
        "email": user.email, "password": PASSWORDS[user.email],
        **({"remember": "y"} if remember else {})})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def stolen(app, client) -> dict[str, object]:
    """Two thieves' browsers: one with a copy of the session cookie only, one with
    a copy of the remember-me cookie only."""
    thieves = {}
    for name in (SESSION, REMEMBER):
        cookie = client.get_cookie(name)
        assert cookie is not None, f"{name} was not set"
        thief = app.test_client()
        thief.set_cookie(name, cookie.value)
        thieves[name] = thief
    return thieves


def opens(client, path) -> bool:
    response = client.get(path)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    return False


def assert_copies_work(thieves, path):
    for name, thief in thieves.items():
        assert opens(thief, path), f"a copy of {name} should open {path} before the end"


def assert_copies_dead(app, thieves, path):
    for name, thief in thieves.items():
        assert not opens(thief, path), f"a copy of {name} still opens {path}"
        # Not even a fresh copy of the same stolen value (no state left in the thief).
        fresh = app.test_client()
        cookie = thief.get_cookie(name)
        if cookie is not None:
            fresh.set_cookie(name, cookie.value)
            assert not opens(fresh, path)


# -- each way a session ends, on each door ------------------------------------------


def test_logout_ends_copied_session_and_remember_cookies(app, person):
    browser = sign_in(app, person)
    thieves = stolen(app, browser)
    assert_copies_work(thieves, door(person))
    assert browser.post("/auth/logout").status_code == 303
    assert not opens(browser, door(person))
    assert_copies_dead(app, thieves, door(person))


def test_password_change_ends_copied_cookies_but_this_browser_stays(app, person):
    browser = sign_in(app, person)
    thieves = stolen(app, browser)
    assert_copies_work(thieves, door(person))
    changed = browser.post("/settings/password", data={
        "current_password": PASSWORDS[person.email], "new_password": "a-new-pass-42",
        "confirm": "a-new-pass-42"})
    assert changed.status_code == 303
    assert opens(browser, door(person))
    assert_copies_dead(app, thieves, door(person))
    # The browser's own remember-me cookie was renewed and still works alone.
    alone = app.test_client()
    alone.set_cookie(REMEMBER, browser.get_cookie(REMEMBER).value)
    assert opens(alone, door(person))


def test_deactivation_ends_copied_cookies_and_reactivation_brings_none_back(app, person,
                                                                            admin):
    browser = sign_in(app, person)
    thieves = stolen(app, browser)
    assert_copies_work(thieves, door(person))
    boss = app.test_client()
    login(boss, admin)
    assert boss.post(f"/admin/users/{person.id}/active",
                     data={"active": "0"}).status_code == 303
    assert not opens(browser, door(person))
    assert_copies_dead(app, thieves, door(person))
    assert boss.post(f"/admin/users/{person.id}/active",
                     data={"active": "1"}).status_code == 303
    assert_copies_dead(app, thieves, door(person))


def test_sign_out_everywhere_from_own_settings_keeps_only_this_browser(app, person):
    browser = sign_in(app, person)
    other_device = sign_in(app, person)
    thieves = stolen(app, other_device)
    assert_copies_work(thieves, door(person))
    page = browser.get("/settings/").get_data(as_text=True)
    assert 'action="/settings/sessions/end"' in page
    ended = browser.post("/settings/sessions/end")
    assert ended.status_code == 303 and ended.headers["Location"].endswith("#sessions")
    assert opens(browser, door(person))
    assert not opens(other_device, door(person))
    assert_copies_dead(app, thieves, door(person))


def test_admin_signs_a_user_out_everywhere(app, person, admin):
    browser = sign_in(app, person)
    thieves = stolen(app, browser)
    boss = app.test_client()
    login(boss, admin)
    page = boss.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert f'action="/admin/users/{person.id}/sessions/end"' in page
    ended = boss.post(f"/admin/users/{person.id}/sessions/end")
    assert ended.status_code == 303
    assert not opens(browser, door(person))
    assert_copies_dead(app, thieves, door(person))
    assert opens(boss, "/agent/")  # the admin's own session is untouched
    from kernel.models.audit import AuditEntry

    entry = db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "users.end_sessions")).one()
    assert entry.actor_id == admin.id


# -- who may, and what is left alone -------------------------------------------------


def test_only_admins_sign_others_out(app, agent, customer_user):
    browser = sign_in(app, customer_user)
    intruder = app.test_client()
    login(intruder, agent)
    assert intruder.post(f"/admin/users/{customer_user.id}/sessions/end").status_code == 403
    assert opens(browser, "/portal/")
    from kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        users.end_sessions(customer_user, actor=agent)


def test_sign_out_everywhere_needs_the_forms_csrf_token(app, agent):
    browser = sign_in(app, agent)
    assert browser.post("/settings/sessions/end", csrf=False).status_code == 400


def test_a_session_made_before_the_token_existed_still_ends(app, customer_user):
    """Accounts from before the migration have no token yet: logging out gives
    them one and ends the old session all the same."""
    assert customer_user.session_token is None
    browser = sign_in(app, customer_user)
    thieves = stolen(app, browser)
    browser.post("/auth/logout")
    assert_copies_dead(app, thieves, "/portal/")
    assert db.session.get(type(customer_user), customer_user.id).session_token


def test_password_change_keeps_api_tokens_deactivation_stops_them(app, client, agent, admin):
    """Documented in docs/security.md: sessions end with a password
    change, API tokens do not (programs keep running); a deactivated user's
    tokens stop."""
    _row, secret = tokens.create(agent, "integration")
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    users.set_password(agent, "another-pass-9", actor=agent)
    users.end_sessions(agent, actor=admin)
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    users.set_active(agent, False, actor=admin)
    assert client.get("/api/v1/tickets", headers=auth).status_code == 401


def test_cookies_are_named_for_the_product_and_flagged(app, agent):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": agent.email,
                                                "password": PASSWORDS[agent.email],
                                                "remember": "y"})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert set(cookies) >= {SESSION, REMEMBER}
    for name in (SESSION, REMEMBER):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
        assert "Secure" not in cookies[name]
    assert "session" not in cookies and "remember_token" not in cookies


@pytest.mark.app_config(HOOKDESK_BASE_URL="https://help.example.com")
def test_cookies_are_secure_with_an_https_base_url(app, agent):
    import re

    site = "https://help.example.com"
    client = app.test_client()
    page = client.get("/auth/login", base_url=site).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", base_url=site, csrf=False, data={
        "csrf_token": token, "email": agent.email, "password": PASSWORDS[agent.email],
        "remember": "y"}, headers={"Referer": f"{site}/auth/login"})  # CSRF's https check
    assert response.status_code == 303
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "Secure" in cookies[SESSION] and "Secure" in cookies[REMEMBER]
