"""The reports section in a real browser (A7): an agent opens «Отчёты» from the
menu, picks the campaign report, sees the chart drawn on the server and the
table, narrows it by ticket type and downloads the CSV."""

from __future__ import annotations

from e2e_helpers import log_in

from kernel.db import db
from kernel.models import User
from kernel.services import tickets


def _tickets(live) -> None:
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева",
                         role="agent")
    with live.db():
        agent = db.session.get(User, agent_id)
        plan = [("website", "resolved"), ("website", "resolved"), ("website", "rejected"),
                ("website", None), ("search_ads", "resolved"), ("search_ads", "rejected"),
                ("search_ads", "rejected"), ("referral", "resolved"), ("referral", "resolved"),
                ("referral", "resolved"), ("outdoor", None), ("outdoor", "rejected")]
        for n, (campaign, status) in enumerate(plan):
            ticket = tickets.create({"subject": f"Обращение {n + 1}", "campaign": campaign},
                                    actor=agent, type="request")
            if status:
                tickets.transition(ticket, status, actor=agent)


def test_an_agent_reads_the_campaign_report_with_its_chart(page, live_server, shot):
    _tickets(live_server)
    log_in(page, "agent@example.com", "agent-pass-1")
    page.click("nav >> text=Отчёты")
    page.wait_for_url("**/reports/")
    page.click('[data-report="helpdesk.campaigns"] a')
    page.wait_for_url("**/reports/helpdesk.campaigns*")
    chart = page.locator("svg[data-chart]")
    chart.wait_for(state="visible")
    assert chart.locator("rect[data-segment]").count() >= 8
    website = page.locator("[data-report-table] tbody tr").first
    assert "Сайт" in website.inner_text() or "Website" in website.inner_text()
    assert website.locator('[data-col="tickets"]').inner_text() == "4"
    shot(page, "reports-campaigns", phone=True)
    page.select_option('select[name="f_type"]', "request")
    page.click("[data-report-filter] button[type=submit]")
    page.wait_for_url("**f_type=request*")
    with page.expect_download() as download:
        page.click("[data-csv]")
    assert download.value.suggested_filename.startswith("helpdesk-campaigns-")
