"""The admin screen of rules (/admin/triggers): list, editor with checks named by
path, dry run, switches, run log; Russian by default; admins only."""

import json

import pytest

from kernel.db import db
from kernel.services import tickets
from plugins.triggers import service
from plugins.triggers.models import Rule, Run
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk", "triggers")


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


def _form(**changes):
    data = {"name": "Plumbing", "description": "", "position": "10", "active": "on",
            "events": json.dumps(["created"]),
            "conditions": json.dumps({"all": [{"field": "probe_category", "op": "is",
                                               "value": "plumbing"}]}),
            "actions": json.dumps([{"action": "probe.tag", "params": {"text": "web"}}])}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_empty_list_and_the_admin_menu(admin_client):
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert "Правил пока нет" in page and "Создать первое правило" in page
    assert 'href="/admin/triggers"' in admin_client.get("/admin/").get_data(as_text=True)


def test_create_edit_toggle_delete(admin_client, agent):
    made = admin_client.post("/admin/triggers/new", data=_form())
    assert made.status_code == 302
    rule = db.session.scalar(db.select(Rule))
    assert made.headers["Location"].endswith(f"/admin/triggers/{rule.id}?saved=1")
    assert (rule.name, rule.position, rule.active) == ("Plumbing", 10, True)
    page = admin_client.get(f"/admin/triggers/{rule.id}?saved=1").get_data(as_text=True)
    assert "Сохранено" in page and "probe.tag" in page and "Что можно использовать" in page
    ticket = tickets.create({"subject": "Leak", "probe_category": "plumbing"}, actor=agent)
    assert ticket.value("probe_note") == "web"
    listing = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert f'href="/admin/triggers/{rule.id}"><b>Plumbing</b>' in listing
    assert "Выключить" in listing
    saved = admin_client.post(f"/admin/triggers/{rule.id}", data=_form(
        name="Plumbing v2", active=None, actions=json.dumps(
            [{"action": "probe.tag", "params": {"text": "v2"}}])))
    assert saved.status_code == 302
    db.session.expire_all()
    rule = db.session.get(Rule, rule.id)
    assert (rule.name, rule.active, rule.actions[0]["params"]["text"]) == ("Plumbing v2", False,
                                                                           "v2")
    assert admin_client.post(f"/admin/triggers/{rule.id}/toggle").status_code == 302
    db.session.expire_all()
    assert db.session.get(Rule, rule.id).active is True
    assert admin_client.post(f"/admin/triggers/{rule.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Rule, rule.id) is None
    assert "Правило удалено" in admin_client.get("/admin/triggers?saved=deleted").get_data(
        as_text=True)


def test_problems_are_named_by_their_path(admin_client):
    bad = admin_client.post("/admin/triggers/new", data=_form(conditions=json.dumps(
        {"all": [{"field": "probe_category", "op": "equals", "value": "x"}]})))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "conditions.all.0.op: Неизвестный оператор &#39;equals&#39;" in page
    assert "equals" in page  # the admin's text is kept in the form
    broken = admin_client.post("/admin/triggers/new", data=_form(actions="[{oops"))
    assert broken.status_code == 422 and "Это не JSON" in broken.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Rule.id))) == 0
    rule = service.create({"name": "Keep", "events": ["created"],
                           "actions": [{"action": "probe.tag", "params": {}}]})
    kept = admin_client.post(f"/admin/triggers/{rule.id}", data=_form(
        name="Keep", events=json.dumps(["nope"])))
    assert kept.status_code == 422 and "events.0.kind" in kept.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Rule, rule.id).events == [{"kind": "created"}]


def test_dry_run_on_the_screen_writes_nothing(admin_client, agent):
    rule = service.create({"name": "Check me", "events": ["created"],
                           "conditions": {"all": [{"field": "queue", "op": "is",
                                                   "value": "technical"}]},
                           "actions": [{"action": "probe.tag", "params": {"text": "x"}}],
                           "active": False})
    ticket = tickets.create({"subject": "A", "queue": "technical"}, actor=agent)
    service.update(rule, {"active": True})
    runs = db.session.scalar(db.select(db.func.count(Run.id)))
    page = admin_client.post(f"/admin/triggers/{rule.id}/test", data={"ticket": ticket.number})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "сработает" in html
    # The explanation in the reader's language; keys and values as written.
    assert "[да]  правило срабатывает на событие &#39;created&#39;" in html
    assert "[да]  queue равно &#39;technical&#39; — у заявки &#39;technical&#39;" in html
    assert "все условия (выполнено 1 из 1)" in html and "listens" not in html
    assert db.session.scalar(db.select(db.func.count(Run.id))) == runs
    db.session.expire_all()
    assert tickets.get(ticket.id).value("probe_note") is None
    missing = admin_client.post(f"/admin/triggers/{rule.id}/test", data={"ticket": "NOPE"})
    assert missing.status_code == 422 and "Заявка не найдена." in missing.get_data(as_text=True)


def test_the_run_log(admin_client, agent, make_rule):
    make_rule("Half", ["created"], [{"action": "probe.boom", "params": {}},
                                    {"action": "probe.tag", "params": {"text": "y"}}])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    page = admin_client.get("/admin/triggers/runs").get_data(as_text=True)
    assert "Журнал срабатываний" in page and ticket.number in page
    assert "partial" in page and "the probe action always fails" in page
    assert "не удалось, отменено" in page
    assert ticket.number not in admin_client.get("/admin/triggers/runs?outcome=ok").get_data(
        as_text=True)


def test_only_admins(client, agent, customer_user):
    login(client, agent)
    assert client.get("/admin/triggers").status_code == 403
    assert client.post("/admin/triggers/new", data=_form()).status_code == 403
    login(client, customer_user)
    assert client.get("/admin/triggers").status_code == 404


def test_english_too(admin_client):
    admin_client.post("/language", data={"lang": "en", "next": "/admin/triggers"})
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert "No rules yet" in page


def test_the_form_editor_and_its_errors_in_russian(admin_client):
    page = admin_client.get("/admin/triggers/new").get_data(as_text=True)
    assert 'src="/admin/triggers/static/rule-form.js"' in page
    assert 'id="rule-catalogue"' in page and "triggers.customer_recent_failure" in page
    words = json.loads(page.split('id="rule-words">', 1)[1].split("</script>", 1)[0])
    assert words["add_condition"] == "Добавить условие"  # the form's words, for the script
    assert admin_client.get("/admin/triggers/static/rule-form.js").status_code == 200
    bad = admin_client.post("/admin/triggers/new", data=_form(
        conditions=json.dumps({"all": [{"field": "nope", "op": "is", "value": 1},
                                       {"field": "queue", "op": "gt"}]}),
        actions=json.dumps([{"action": "triggers.email", "params": {"to": "customer"}}])))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    errors = json.loads(page.split('id="rule-errors">', 1)[1].split("</script>", 1)[0])
    assert errors["conditions.all.0.field"] == ["Неизвестное поле 'nope'."]
    assert errors["conditions.all.1.value"] == ["Для оператора «больше» нужно число."]
    assert errors["actions.0.params.subject"] == ["Этот параметр обязателен."]
    assert "Этот параметр обязателен." in page  # the summary, without the script too
    assert db.session.scalar(db.select(db.func.count(Rule.id))) == 0


def test_the_api_keeps_the_english(client, admin):
    from plugins.triggers import catalogue

    with pytest.raises(Exception) as caught:
        service.create({"name": "x", "events": ["created"], "actions": [
            {"action": "triggers.email", "params": {"to": "customer"}}]})
    message = caught.value.errors["actions.0.params.subject"][0]
    assert message == "This parameter is required." and isinstance(message, catalogue.Msg)


def test_the_form_offers_choices_by_their_labels(admin_client):
    page = admin_client.get("/admin/triggers/new").get_data(as_text=True)
    start = page.index('id="rule-catalogue">') + len('id="rule-catalogue">')
    offered = json.loads(page[start:page.index("</script>", start)])
    fields = {f["key"]: f for f in offered["fields"]}
    assert fields["actor.kind"]["choices"] == ["customer", "agent", "system"]
    assert fields["actor.kind"]["choice_labels"] == {
        "customer": "Покупатель", "agent": "Сотрудник", "system": "Система"}
    assert fields["status_group"]["choice_labels"]["closed_success"] == "Закрыт: успешно"


def test_the_list_says_in_russian_why_a_rule_does_not_run(admin_client):
    rule = service.create({"name": "Orphan", "events": ["created"],
                           "actions": [{"action": "probe.tag", "params": {"text": "x"}}]})
    rule.actions = [{"action": "gone.action", "params": {}}]  # its plugin was disabled
    db.session.flush()
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert "Неизвестное действие &#39;gone.action&#39;" in page
    assert "Unknown action" not in page
