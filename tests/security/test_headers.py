"""Security headers on every door (issue 9, defect 8): pages of the portal and
the agent workspace, the API's JSON, the API docs and their assets, file
downloads (pages and API), a plugin's blueprint, error pages, redirects and
static files. One ``after_request`` in ``web/security.py`` sets them all: a
Content-Security-Policy, no framing (``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``), ``nosniff`` and a referrer policy.
"""

from __future__ import annotations

import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from kernel.services import attachments, tokens
from web.testing import login


def directives(policy: str) -> dict[str, str]:
    found = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            found[name.lower()] = value.strip()
    return found


def assert_protected(response, html: bool | None = None):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = directives(headers["Content-Security-Policy"])
    if "sandbox" not in policy:  # a sandboxed file cannot frame or run anything anyway
        assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy.get("script-src", "")
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    if html is False:
        assert policy["default-src"] == "'none'" and "script-src" not in policy
    return policy


@pytest.fixture
def ticket_with_file(app, make_ticket, customer_user):
    ticket = make_ticket(actor=customer_user, subject="With a file")
    upload = FileStorage(io.BytesIO(b"%PDF-1.4 contract"), filename="contract.pdf",
                         content_type="application/pdf")
    return ticket, attachments.attach(ticket, upload, actor=customer_user)


def test_portal_pages(client, customer_user, ticket_with_file):
    login(client, customer_user)
    ticket, _file = ticket_with_file
    for path in ("/portal/", f"/portal/tickets/{ticket.id}", "/settings/"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = assert_protected(response)
        assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"


def test_agent_pages(client, agent, ticket_with_file):
    login(client, agent)
    ticket, _file = ticket_with_file
    for path in ("/agent/", f"/agent/tickets/{ticket.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_protected(response)


def test_anonymous_pages_errors_and_redirects(client):
    assert_protected(client.get("/auth/login"))
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert_protected(missing)
    redirect = client.get("/agent/")
    assert redirect.status_code == 302
    assert_protected(redirect)
    static = client.get("/static/js/hookdesk.js")
    assert static.status_code == 200
    assert_protected(static, html=False)
    static.close()


def test_api_json_with_a_customers_and_an_agents_token(client, agent, customer_user):
    for user in (agent, customer_user):
        _row, secret = tokens.create(user, "ci")
        response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
        assert_protected(response, html=False)
    refused = client.get("/api/v1/tickets")
    assert refused.status_code == 401
    assert_protected(refused, html=False)
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert_protected(spec, html=False)


def test_api_docs_allow_only_their_own_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    policy = assert_protected(page)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    html = page.get_data(as_text=True)
    # No inline script: every <script> has a src on this site, and each is served.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    for src in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert_protected(asset, html=False)
        asset.close()
    assert 'data-openapi-url="/api/v1/openapi.json"' in html


def test_file_downloads_from_pages_and_the_api(client, agent, customer_user, ticket_with_file):
    _ticket, stored = ticket_with_file
    login(client, customer_user)
    download = client.get(f"/files/{stored.id}")
    assert download.status_code == 200
    policy = assert_protected(download)
    # A PDF opens in the browser's viewer, which a sandbox would refuse; it still fetches nothing.
    assert policy["default-src"] == "'none'" and "sandbox" not in policy
    download.close()
    _row, secret = tokens.create(agent, "ci")
    api = client.get(f"/api/v1/attachments/{stored.id}",
                     headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    assert assert_protected(api)["default-src"] == "'none'"
    api.close()


def test_a_plugins_blueprint(client, admin):
    login(client, admin)
    response = client.get("/admin/warranty")
    assert response.status_code == 200
    assert_protected(response)


@pytest.mark.app_config(HOOKDESK_BASE_URL="https://help.example.com")
def test_https_deployments_add_hsts(client):
    response = client.get("/auth/login", base_url="https://help.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_protected(response)


def test_plain_http_deployments_send_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers


def test_a_view_may_set_its_own_framing_and_is_kept(app, client):
    """A page meant to be embedded elsewhere (a plugin's public form) sets its
    own ``frame-ancestors``; no ``X-Frame-Options: DENY`` contradicts it."""
    from flask import make_response

    @app.get("/embeddable-test")
    def embeddable():
        response = make_response("<!doctype html><p>form</p>")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; frame-ancestors https://shop.example.com")
        return response

    response = client.get("/embeddable-test")
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Content-Security-Policy"].endswith("https://shop.example.com")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
