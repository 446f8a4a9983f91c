"""The rule editor's form in a real browser (R1, A6; issue 15): an admin builds
a rule with a history condition and an e-mail action without typing JSON, and
the rule fires on the next ticket of a customer who already has an open one."""

from __future__ import annotations

import json
import re

from e2e_helpers import letter, log_in

from kernel.db import db, get_by_id
from kernel.models import User
from kernel.services import customers, tickets
from plugins.triggers.models import Rule


def test_admin_builds_a_rule_in_the_form_and_it_fires(page, live_server, shot):
    live = live_server
    live.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    agent_id = live.user("agent@example.com", "agent-pass-1", name="Светлана Агеева",
                         role="agent")
    with live.db():
        agent = get_by_id(User, agent_id)
        customer_id = customers.create({"name": "Иван Кузнецов"}, actor=agent).id
        tickets.create({"subject": "Первое обращение", "customer": customer_id}, actor=agent)

    log_in(page, "admin@example.com", "admin-pass-1")
    page.goto("/admin/triggers/new")
    page.fill("#name", "Повторное обращение — дежурному")
    events = page.locator("[data-rf-events]")
    events.locator('input[data-event="created"]').check()

    conditions = page.locator("[data-rf-conditions]")
    # A new rule starts from an example (queue is "technical", add a note): replace it.
    conditions.get_by_role("button", name="Убрать").click()
    conditions.get_by_role("button", name="Добавить условие").click()
    row = conditions.locator(".rf-row").first
    row.locator('select[data-rf="kind"]').select_option("condition")
    row.locator('select[data-rf="condition"]').select_option("triggers.customer_has_open_ticket")

    actions = page.locator("[data-rf-actions]")
    actions.get_by_role("button", name="Убрать").click()
    actions.get_by_role("button", name="Добавить действие").click()
    action = actions.locator(".rf-action").first
    action.locator('select[data-rf="action"]').select_option("triggers.email")
    action.locator('[data-param="to"]').select_option("address")
    action.locator('[data-param="address"]').fill("duty@example.com")
    action.locator('[data-param="locale"]').fill("ru")
    action.locator('[data-param="subject"]').fill("Повторное обращение: {{ticket.number}}")
    action.locator('[data-param="body"]').fill("У клиента {{customer.name}} уже есть открытая "
                                               "заявка.")
    # The form wrote the JSON the server checks; nothing was typed there.
    page.get_by_role("tab", name="JSON").click()
    assert json.loads(page.input_value("#conditions")) == {
        "all": [{"condition": "triggers.customer_has_open_ticket"}]}
    page.get_by_role("tab", name="Форма").click()
    page.get_by_role("button", name="Создать правило").click()
    page.wait_for_url(re.compile(r".*/admin/triggers/\d+\?saved=1$"))
    assert "Сохранено" in page.inner_text("main")
    with live.db():
        rule = db.session.scalar(db.select(Rule).where(
            Rule.name == "Повторное обращение — дежурному"))
        assert rule.events == [{"kind": "created"}]
        assert rule.actions[0]["params"]["address"] == "duty@example.com"
    # Reopened, the saved rule shows in the form again.
    assert page.locator('[data-rf-conditions] select[data-rf="condition"]').input_value() == \
        "triggers.customer_has_open_ticket"
    page.evaluate("window.scrollTo(0, document.querySelector('[data-rf-conditions]')"
                  ".closest('fieldset').getBoundingClientRect().top + window.scrollY - 90)")
    shot(page, "admin-rule-form", top=False)

    with live.db():
        agent = get_by_id(User, agent_id)
        second = tickets.create({"subject": "Опять течёт кран", "customer": customer_id},
                                actor=agent)
        number = second.number
    message = letter(live.mailbox, "duty@example.com")
    assert message["Subject"] == f"Повторное обращение: {number}"
    assert "Иван Кузнецов" in live.mailbox.text(message)


def test_errors_show_under_their_row_in_russian(page, live_server):
    live = live_server
    live.user("admin@example.com", "admin-pass-1", name="Анна Админова", role="admin")
    log_in(page, "admin@example.com", "admin-pass-1")
    page.goto("/admin/triggers/new")
    page.fill("#name", "Без действия")
    page.locator('[data-rf-events] input[data-event="created"]').check()
    actions = page.locator("[data-rf-actions]")
    actions.locator('select[data-rf="action"]').select_option("triggers.email")
    page.get_by_role("button", name="Создать правило").click()
    row = page.locator("[data-rf-actions] .rf-action").first
    row.locator(".rf-errors").first.wait_for()
    assert "Этот параметр обязателен." in row.inner_text()
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
