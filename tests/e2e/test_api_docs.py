"""The API docs page in a real browser under its Content-Security-Policy (issue
9, defect 8): Swagger UI loads from this site's own assets, shows the API and
breaks no rule of the policy (a violation is a console error in Chromium)."""

from __future__ import annotations


def test_api_docs_render_under_their_policy(page, live_server):
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto("/api/v1/docs")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Hookdesk API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=15000)
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert refused == []
