"""The reports section (A7, K12): the index lists the reports the viewer may
see, every declared report has a page (period, filters, table, server-drawn
chart), a CSV and an API endpoint, each guarded by the report's permission; the
campaign report of seed 001 counts tickets per campaign and their outcomes."""

from __future__ import annotations

import csv
import io

import pytest

from kernel import declarations as d
from kernel import runtime
from kernel.registry import Entry
from kernel.services import reports, tickets, tokens, users
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")

KEY = "helpdesk.campaigns"


def bearer(user):
    _row, secret = tokens.create(user, "reports")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def clerk(app):
    """An employee who sees tickets but no reports."""
    users.save_role("clerk", "Clerk", ["tickets.view"], create=True)
    return users.create({"email": "clerk@test.example", "password": "clerk-pass-1",
                         "roles": ["clerk"], "name": "Clerk"})


@pytest.fixture
def campaigns(agent, make_ticket):
    """website: 3 (1 resolved, 1 rejected, 1 open); referral: 1 resolved; none: 1 open."""
    made = [make_ticket(actor=agent, campaign="website") for _ in range(3)]
    made.append(make_ticket(actor=agent, campaign="referral"))
    make_ticket(actor=agent)
    tickets.transition(made[0], "resolved", actor=agent)
    tickets.transition(made[1], "rejected", actor=agent)
    tickets.transition(made[3], "resolved", actor=agent)
    return made


def test_campaign_report_counts_outcomes_with_one_grouped_query(app, agent, campaigns):
    result = reports.run(KEY, agent)
    by_campaign = {r["campaign"]: r for r in result.records()}
    website = by_campaign["Website"]
    assert (website["tickets"], website["success"], website["failure"], website["open"]) == (
        3, 1, 1, 1)
    assert website["success_share"] == pytest.approx(0.3333)
    assert by_campaign["Recommendation"]["success_share"] == 1.0
    assert by_campaign[None]["open"] == 1
    assert [r["campaign"] for r in result.records()][0] == "Website"  # biggest first


def test_period_and_filters_are_checked_naming_the_field(app, agent, campaigns):
    from kernel.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as bad:
        reports.run(KEY, agent, "2026-05-02", "2026-05-01")
    assert "from" in bad.value.errors
    with pytest.raises(ValidationFailed) as bad:
        reports.run(KEY, agent, filters={"type": "nope"})
    assert "type" in bad.value.errors
    empty = reports.run(KEY, agent, "2020-01-01", "2020-01-31")
    assert empty.rows == []
    assert reports.run(KEY, agent, filters={"type": "request"}).rows


def test_page_has_table_chart_and_filters(client, agent, campaigns):
    login(client, agent)
    html = client.get(f"/reports/{KEY}").get_data(as_text=True)
    assert "<svg" in html and "data-chart" in html and "cdn" not in html.lower()
    assert html.count('data-segment="success"') == 2  # website and referral succeeded
    assert 'data-col="success_share"' in html and "33.3%" in html
    assert 'name="f_type"' in html and 'name="from"' in html
    bad = client.get(f"/reports/{KEY}?from=bad")
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)


def test_index_and_menu_list_only_visible_reports(client, agent, clerk):
    login(client, agent)
    html = client.get("/reports/").get_data(as_text=True)
    assert f'data-report="{KEY}"' in html
    assert 'href="/reports/"' in client.get("/agent/").get_data(as_text=True)
    login(client, clerk)
    assert f'data-report="{KEY}"' not in client.get("/reports/").get_data(as_text=True)
    assert 'href="/reports/"' not in client.get("/agent/").get_data(as_text=True)
    assert client.get(f"/reports/{KEY}").status_code == 403
    assert client.get(f"/reports/{KEY}/csv").status_code == 403
    assert client.get("/reports/nope").status_code == 404


def test_customer_never_reaches_reports(client, customer_user):
    login(client, customer_user)
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/{KEY}").status_code == 403
    assert client.get(f"/api/v1/reports/{KEY}", headers=bearer(customer_user)).status_code == 403
    assert client.get("/api/v1/reports", headers=bearer(customer_user)).json == []


def test_csv_export(client, agent, campaigns):
    login(client, agent)
    response = client.get(f"/reports/{KEY}/csv?f_type=request")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Рекламная кампания", "Заявки"] or rows[0][0]  # header row
    website = next(r for r in rows if r[0] in ("Сайт", "Website"))
    assert website[1:5] == ["3", "1", "1", "1"] and website[5] == "33.3%"
    assert client.get(f"/reports/{KEY}/csv?to=bad").status_code == 422


def test_api_endpoint_and_openapi(client, agent, clerk, campaigns):
    listed = client.get("/api/v1/reports", headers=bearer(agent)).json
    assert KEY in [r["key"] for r in listed]
    found = client.get(f"/api/v1/reports/{KEY}?filter=type:request", headers=bearer(agent))
    assert found.status_code == 200
    website = next(r for r in found.json["rows"] if r["campaign"] == "Website")
    assert website["tickets"] == 3 and found.json["filters"] == {"type": "request"}
    bad = client.get(f"/api/v1/reports/{KEY}?filter=type:nope", headers=bearer(agent))
    assert bad.status_code == 422 and "type" in bad.json["errors"]
    assert client.get(f"/api/v1/reports/{KEY}", headers=bearer(clerk)).status_code == 403
    assert client.get("/api/v1/reports/nope", headers=bearer(agent)).status_code == 404
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/reports/{key}" in spec["paths"] and "/api/v1/reports" in spec["paths"]


def test_each_report_has_its_own_permission(client, app, agent, admin):
    """A report declared with another permission is hidden from who lacks it."""
    def build(params):
        return {"columns": ["n"], "rows": [[1]]}

    registry = runtime.host().registry.reports
    registry["test.secret"] = Entry("test", d.ReportDecl("test.secret", "Secret", build,
                                                         permission="admin.users"))
    try:
        assert "test.secret" not in [r.key for r in reports.visible(agent)]
        assert "test.secret" in [r.key for r in reports.visible(admin)]
        login(client, agent)
        assert client.get("/reports/test.secret").status_code == 403
        login(client, admin)
        html = client.get("/reports/test.secret").get_data(as_text=True)
        assert "data-report-table" in html and "data-chart" not in html
    finally:
        registry.pop("test.secret")


@pytest.mark.plugins("helpdesk", "autoservice")
def test_an_older_declaration_gets_a_page_csv_and_api_too(client, agent):
    """The auto-service report declares only key, title and build."""
    login(client, agent)
    page = client.get("/reports/autoservice.contacts")
    assert page.status_code == 200 and "data-chart" not in page.get_data(as_text=True)
    assert client.get("/reports/autoservice.contacts/csv").mimetype == "text/csv"
    got = client.get("/api/v1/reports/autoservice.contacts", headers=bearer(agent)).json
    assert [c["key"] for c in got["columns"]] == ["category", "outcome", "contacts"]
    assert "conversion_rate" in got["extra"]
