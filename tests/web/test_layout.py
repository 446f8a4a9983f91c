"""The layout every page shares: menus per kind of user (with plugins' entries),
language switcher, user menu, error pages, security headers; the REST API keeps
its JSON errors."""

from __future__ import annotations

import pytest
from flask import Blueprint, g, render_template_string

from kernel import declarations as d
from kernel import hookimpl
from kernel.db import db
from kernel.services import users
from kernel.testing import build_app
from web.testing import login


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav id="primary-nav"', 1)[1].split("</nav>", 1)[0]
    return [part.split(">", 1)[1].split("<", 1)[0] for part in nav.split("<a ")[1:]]


def test_anonymous_visitors_get_no_menu(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'id="primary-nav"' not in html and 'class="lang-switch"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_agents_and_customers_get_their_own_menus(client, agent, admin, customer_user):
    login(client, customer_user)
    html = client.get("/portal/").get_data(as_text=True)
    assert nav_links(html) == ["Мои заявки", "Мои заказы"]  # the orders plugin's section
    assert 'class="is-active" aria-current="page">Мои заявки' in html
    assert "Покупатель" not in nav_links(html)
    assert "/api/v1/docs" not in html  # the API link is for agents
    login(client, agent)
    # "Автосервис": the auto-service plugin's entry (work orders, contacts report);
    # "Отчёты": the reports section, shown while some report is the agent's to see.
    assert nav_links(client.get("/agent/").get_data(as_text=True)) == [
        "Заявки", "Воронка", "Заявки на заказ", "Автосервис", "Отчёты", "Уведомления"]
    login(client, admin)
    html = client.get("/status").get_data(as_text=True)
    # "Дома" (houses) is the warranty plugin's entry, for holders of warranty.manage.
    assert nav_links(html) == ["Заявки", "Воронка", "Заявки на заказ", "Дома", "Автосервис",
                               "Отчёты", "Администрирование", "Уведомления", "Система"]
    assert "/api/v1/docs" in html
    assert "Hookdesk 0.1.0, включено" in html  # the system page, in Russian


def test_the_user_menu_has_settings_and_logout(client, customer_user):
    login(client, customer_user)
    html = client.get("/portal/").get_data(as_text=True)
    menu = html.split('<details class="user-menu">', 1)[1].split("</details>", 1)[0]
    assert "buyer@test.example" in menu and 'href="/settings/"' in menu
    assert 'action="/auth/logout"' in menu and 'name="csrf_token"' in menu


def test_empty_states_are_real_pages(client, agent, customer_user):
    login(client, customer_user)
    html = client.get("/portal/").get_data(as_text=True)
    assert 'class="empty"' in html and "Заявок пока нет" in html
    login(client, agent)
    assert "Пока здесь пусто" in client.get("/agent/").get_data(as_text=True)


class Navigation:
    @hookimpl
    def hookdesk_register_permissions(self):
        return [d.PermissionDecl("probe.reports", "See probe reports")]

    @hookimpl
    def hookdesk_navigation_items(self, viewer):
        return [
            d.NavItem("probe.houses", "Probe houses", "/probe/houses", "agent", order=20),
            d.NavItem("probe.reports", "Reports", "/probe/reports", "agent", "probe.reports",
                      order=30),
            d.NavItem("probe.flats", "Probe flats", "/probe/flats", "customer", order=5),
        ]

    @hookimpl
    def hookdesk_register_blueprints(self):
        bp = Blueprint("probe", __name__, url_prefix="/probe")

        @bp.get("/houses")
        def houses():
            user = g.user  # plugins read the signed-in user here (docs/plugins.md)
            return render_template_string(
                '{% extends "base.html" %}{% block content %}<p id="who">{{ who }}</p>'
                "{% endblock %}", who=user.email if user else "nobody")

        return [bp]


def test_plugins_add_menu_entries_filtered_by_kind_and_permission(tmp_path):
    app = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": Navigation()})
    with app.app_context():
        agent = users.create({"email": "a@test.example", "password": "agent-pass-1",
                              "roles": ["agent"], "name": "A"})
        admin = users.create({"email": "b@test.example", "password": "admin-pass-1",
                              "roles": ["admin"], "name": "B"})
        buyer = users.create({"email": "c@test.example", "password": "buyer-pass-1",
                              "kind": "customer", "name": "C"})
        client = app.test_client()
        login(client, agent)
        page = client.get("/probe/houses").get_data(as_text=True)
        # "Отчёты": the kernel's reports section (the helpdesk plugin's campaign report).
        assert nav_links(page) == ["Заявки", "Воронка", "Probe houses", "Отчёты"]
        assert '<p id="who">a@test.example</p>' in page
        assert 'href="/probe/houses" class="is-active"' in page
        login(client, admin)
        assert nav_links(client.get("/agent/").get_data(as_text=True)) == [
            # the probe's "Reports" (a word the catalogue now has), then the kernel's
            "Заявки", "Воронка", "Probe houses", "Отчёты", "Отчёты", "Администрирование",
            "Система"]
        login(client, buyer)
        assert nav_links(client.get("/portal/").get_data(as_text=True)) == [
            "Probe flats", "Мои заявки"]
        anonymous = app.test_client().get("/probe/houses").get_data(as_text=True)
        assert '<p id="who">nobody</p>' in anonymous
        db.session.remove()
        db.engine.dispose()


# -- error pages and the API ---------------------------------------------------------


def test_error_pages_use_the_layout(client, customer_user):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert "Страница не найдена" in html and 'class="topbar"' in html
    english = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Page not found" in english.get_data(as_text=True)
    login(client, customer_user)
    forbidden = client.get("/agent/")
    assert forbidden.status_code == 403 and "Доступ запрещён" in forbidden.get_data(as_text=True)
    wrong_method = client.delete("/settings/")
    assert wrong_method.status_code == 405 and "Недопустимое действие" in wrong_method.get_data(
        as_text=True)


def test_kernel_refusals_escaping_a_page_become_error_pages(app, client):
    from kernel.errors import NotFound, PermissionDenied

    @app.get("/probe-refusals/<kind>")
    def refusing(kind):
        raise {"missing": NotFound("Ticket not found."),
               "denied": PermissionDenied("You are not allowed to do this.")}[kind]

    assert client.get("/probe-refusals/missing").status_code == 404
    denied = client.get("/probe-refusals/denied")
    assert denied.status_code == 403 and "Доступ запрещён" in denied.get_data(as_text=True)


def test_the_api_keeps_json_errors_and_needs_no_csrf(client, agent):
    from kernel.services import tokens

    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json["title"] == "Not found"
    # JSON is never a page: nothing in it may run, and it is never framed.
    assert missing.headers["Content-Security-Policy"].startswith("default-src 'none'")
    _row, secret = tokens.create(agent, "ci")
    created = client.post("/api/v1/tickets", json={"values": {"subject": "From a program"}},
                          headers={"Authorization": f"Bearer {secret}"}, csrf=False)
    assert created.status_code == 201


def test_a_server_error_is_a_page(app, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/probe-crash")
    def crash():
        raise RuntimeError("boom")

    response = app.test_client().get("/probe-crash")
    assert response.status_code == 500
    assert "Что-то пошло не так" in response.get_data(as_text=True)


# -- security ------------------------------------------------------------------------


def test_pages_carry_security_headers(client):
    response = client.get("/auth/login")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
    cookie = next(c for c in headers.getlist("Set-Cookie") if c.startswith("hookdesk_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.app_config(HOOKDESK_BASE_URL="https://help.example.com")
def test_cookies_are_secure_behind_https(client):
    response = client.get("/auth/login", base_url="https://help.example.com")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("hookdesk_session="))
    assert "Secure" in cookie


def test_no_page_has_an_inline_script(client, agent):
    login(client, agent)
    for url in ("/agent/", "/settings/", "/auth/forgot", "/no-such-page"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "onclick=" not in html
        assert '<script src="/static/js/hookdesk.js' in html


def test_static_files_are_served(client):
    assert client.get("/static/css/hookdesk.css").status_code == 200
    assert client.get("/static/js/hookdesk.js").status_code == 200
    assert client.get("/static/img/logo.svg").status_code == 200
