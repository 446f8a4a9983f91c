"""The admin screens (A6, K2-K5, K10, P7): each renders, each change goes through
the kernel services and shows up where it matters; access is checked."""

from __future__ import annotations

import re

import pytest

from kernel import fieldset
from kernel.db import db
from kernel.errors import TransitionRefused
from kernel.models import Role, TicketType
from kernel.services import fields as field_service
from kernel.services import settings, tickets, users, workflow
from web.forms import ticket_form
from web.testing import login

SCREENS = [
    ("/admin/", "Администрирование"),
    ("/admin/types", "Типы заявок"),
    ("/admin/types/request", "REQ-"),
    ("/admin/numbering", "Нумерация"),
    ("/admin/pipelines", "Воронки"),
    ("/admin/pipelines/support", "Разрешённые переходы"),
    ("/admin/fields", "Новое доп. поле"),
    ("/admin/fields/subject", "Тема"),
    ("/admin/dictionaries", "Категории и списки"),
    ("/admin/dictionaries/queues", "Техническая проблема"),
    ("/admin/users", "Новый сотрудник"),
    ("/admin/users?kind=customer", "Покупатели"),
    ("/admin/roles", "Новая роль"),
    ("/admin/roles/agent", "Может видеть покупателей"),
    ("/admin/plugins", "HOOKDESK_PLUGINS"),
    ("/admin/settings", "Тип заявки по умолчанию"),
]


def field_error(html: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


def reload_type(key: str) -> TicketType:
    db.session.expire_all()
    return workflow.ticket_type(key)


# -- every screen, and who may open it -------------------------------------------------


@pytest.mark.parametrize(("path", "text"), SCREENS)
def test_each_screen_renders(admin_client, path, text):
    response = admin_client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text in html
    assert 'href="/static/css/admin.css' in html


def test_the_menu_and_the_index_link_every_section(admin_client):
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/"' in html  # main menu entry "Administration"
    for path in ("/admin/types", "/admin/pipelines", "/admin/fields", "/admin/numbering",
                 "/admin/dictionaries", "/admin/users", "/admin/roles", "/admin/plugins",
                 "/admin/settings"):
        assert f'href="{path}"' in html


def test_an_agent_without_admin_settings_gets_403(client, agent):
    login(client, agent)
    assert client.get("/admin/types").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/types/request/numbering",
                       data={"number_template": "X-{seq}"}).status_code == 403
    assert reload_type("request").number_template == "REQ-{year}-{seq:05d}"
    assert '<a href="/admin/"' not in client.get("/settings/").get_data(as_text=True)


def test_a_customer_gets_404_and_a_visitor_the_login_page(client, customer_user):
    assert "/auth/login" in client.get("/admin/types").headers["Location"]
    login(client, customer_user)
    for path in ("/admin/", "/admin/types", "/admin/users", "/admin/pipelines/support"):
        assert client.get(path).status_code == 404
    assert client.post("/admin/pipelines/support/transitions", data={}).status_code == 404
    assert workflow.pipeline("support").transitions  # nothing was removed


def test_user_admins_see_people_but_not_configuration(client, admin):
    users.save_role("people", "People", ["admin.users"], create=True)
    hr = users.create({"email": "hr@test.example", "roles": ["people"], "name": "HR"})
    login(client, hr)
    assert client.get("/admin/users").status_code == 200
    assert client.get("/admin/roles").status_code == 200
    assert client.get("/admin/fields").status_code == 403
    index = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/users"' in index and 'href="/admin/fields"' not in index


# -- ticket types and numbering ----------------------------------------------------------


def test_a_ticket_type_is_created_with_a_live_number_preview(admin_client):
    preview = admin_client.get("/admin/numbering/preview?template=W-{year}-{seq:04d}&type=w")
    assert preview.json["ok"] is True and re.fullmatch(r"W-\d{4}-0001", preview.json["number"])
    bad = admin_client.get("/admin/numbering/preview?template=W-{seq}-{seq}&type=w").json
    assert bad["ok"] is False and "{seq}" in bad["error"]

    response = admin_client.post("/admin/types", data={
        "key": "warranty", "name": "Гарантия", "pipeline": "support",
        "initial_status": "in_progress", "number_template": "W-{year}-{seq:04d}"})
    assert response.status_code == 303
    row = reload_type("warranty")
    assert (row.name, row.initial_status.key, row.number_template) == (
        "Гарантия", "in_progress", "W-{year}-{seq:04d}")
    assert "Гарантия" in admin_client.get("/admin/types").get_data(as_text=True)
    ticket = tickets.create({"subject": "Трещина"}, type="warranty")
    assert re.fullmatch(r"W-\d{4}-0001", ticket.number) and ticket.status.key == "in_progress"


def test_a_bad_new_type_is_refused_beside_its_fields(admin_client):
    response = admin_client.post("/admin/types", data={
        "key": "Bad Key", "name": "X", "pipeline": "support", "number_template": "{seq}"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "key")
    response = admin_client.post("/admin/types", data={
        "key": "second", "name": "X", "pipeline": "support", "number_template": "{nope}"})
    assert response.status_code == 422
    assert "{nope}" in field_error(response.get_data(as_text=True), "number_template")
    assert db.session.scalar(db.select(TicketType).where(TicketType.key == "second")) is None


def test_a_bad_numbering_template_shows_the_error_and_changes_nothing(admin_client):
    for template in ("REQ-{seq}-{seq}", "REQ-{unknown}-{seq}", "REQ-{seq:g}", "REQ-{"):
        response = admin_client.post("/admin/types/request/numbering",
                                     data={"number_template": template})
        assert response.status_code == 422, template
        html = response.get_data(as_text=True)
        assert field_error(html, "number_template"), template
        assert "Шаблон" in field_error(html, "number_template")
        assert reload_type("request").number_template == "REQ-{year}-{seq:05d}"
    # The same from the numbering page (its forms are prefixed per type).
    response = admin_client.post("/admin/types/request/numbering", data={
        "back": "numbering", "t-request-number_template": "{seq}{seq}"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "t-request-number_template")
    assert reload_type("request").number_template == "REQ-{year}-{seq:05d}"


def test_a_good_numbering_template_numbers_the_next_ticket(admin_client):
    tickets.create({"subject": "Первое"}, type="request")
    response = admin_client.post("/admin/types/request/numbering", data={
        "back": "numbering", "t-request-number_template": "R{seq:03d}"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/numbering"
    page = admin_client.get("/admin/numbering").get_data(as_text=True)
    assert "R001" in page  # the flash message and the preview
    assert tickets.create({"subject": "Второе"}, type="request").number == "R001"
    assert "R002" in admin_client.get("/admin/types").get_data(as_text=True)


def test_a_type_is_edited_and_the_default_type_is_set(admin_client):
    workflow.create_type("repair", "Repair", "support", "C-{seq}")
    response = admin_client.post("/admin/types/repair", data={
        "name": "Претензия", "initial_status": "waiting", "order": "5",
        "customer_can_create": ""})
    assert response.status_code == 303
    row = reload_type("repair")
    assert (row.name, row.initial_status.key, row.is_active, row.customer_can_create,
            row.order) == ("Претензия", "waiting", False, False, 5)
    with pytest.raises(Exception, match="Unknown ticket type"):
        tickets.create({"subject": "x"}, type="repair")  # inactive: not offered any more

    admin_client.post("/admin/types/repair", data={"name": "Претензия", "initial_status":
                                                  "waiting", "is_active": "y"})
    assert admin_client.post("/admin/types/default", data={"key": "repair"}).status_code == 303
    assert settings.get("kernel.default_ticket_type") == "repair"
    assert tickets.create({"subject": "Без типа"}).type.key == "repair"
    # The default type cannot be deactivated.
    response = admin_client.post("/admin/types/repair", data={"name": "Претензия",
                                                             "initial_status": "waiting"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "is_active")
    assert reload_type("repair").is_active is True


def test_an_unknown_initial_status_is_refused(admin_client):
    response = admin_client.post("/admin/types/request", data={
        "name": "Заявка", "initial_status": "nowhere", "is_active": "y"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "initial_status")
    assert reload_type("request").initial_status.key == "new"


# -- pipelines -----------------------------------------------------------------------------


def test_a_forbidden_transition_is_refused_afterwards(admin_client, admin):
    ticket = tickets.create({"subject": "Переход"}, type="request")
    pipe = workflow.pipeline("support")
    allowed = [f"{t.from_status.key}:{t.to_status.key}" for t in pipe.transitions]
    assert "new:in_progress" in allowed
    keep = [pair for pair in allowed if pair != "new:in_progress"] + ["new:waiting"]
    response = admin_client.post("/admin/pipelines/support/transitions", data={"allow": keep})
    assert response.status_code == 303
    db.session.expire_all()
    with pytest.raises(TransitionRefused):
        tickets.transition(tickets.get(ticket.id), "in_progress", actor=admin)
    assert tickets.transition(tickets.get(ticket.id), "waiting", actor=admin).status.key == \
        "waiting"
    html = admin_client.get("/admin/pipelines/support").get_data(as_text=True)
    assert re.search(r'value="new:in_progress" aria-label="[^"]*">', html)  # unticked
    assert re.search(r'value="new:waiting" aria-label="[^"]*" checked>', html)


def test_statuses_are_added_renamed_regrouped_coloured_and_reordered(admin_client):
    response = admin_client.post("/admin/pipelines/support/statuses", data={
        "key": "on_hold", "name": "На паузе", "group": "open"})
    assert response.status_code == 303
    bad = admin_client.post("/admin/pipelines/support/statuses", data={
        "key": "on_hold", "name": "Дубль", "group": "open"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "key")

    response = admin_client.post("/admin/pipelines/support/statuses/on_hold", data={
        "s-on_hold-name": "Отложено", "s-on_hold-group": "closed_failure",
        "s-on_hold-color": "#AA0000"})
    assert response.status_code == 303
    bad = admin_client.post("/admin/pipelines/support/statuses/on_hold", data={
        "s-on_hold-name": "Отложено", "s-on_hold-group": "lost", "s-on_hold-color": "#aa0000"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "s-on_hold-group")
    db.session.expire_all()
    status = workflow.pipeline("support").status("on_hold")
    assert (status.name, status.group, status.color) == ("Отложено", "closed_failure", "#aa0000")

    before = [s.key for s in workflow.pipeline("support").statuses]
    admin_client.post("/admin/pipelines/support/statuses/on_hold/move",
                      data={"direction": "up"})
    db.session.expire_all()
    keys = [s.key for s in workflow.pipeline("support").statuses]
    at = before.index("on_hold")  # plugins' extensions may add statuses to the pipeline
    assert keys == [*before[:at - 1], "on_hold", before[at - 1], *before[at + 1:]]


def test_a_pipeline_is_created(admin_client):
    response = admin_client.post("/admin/pipelines", data={
        "key": "repair", "name": "Ремонт",
        "statuses": "accepted, Принят\nfixing, В работе\ndone, Готов, closed_success"})
    assert response.status_code == 303 and response.headers["Location"] == \
        "/admin/pipelines/repair#transitions"
    pipe = workflow.pipeline("repair")
    assert [(s.key, s.group) for s in pipe.statuses] == [
        ("accepted", "open"), ("fixing", "open"), ("done", "closed_success")]
    bad = admin_client.post("/admin/pipelines", data={
        "key": "broken", "name": "X", "statuses": "a, A, somewhere"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "statuses")


# -- fields -------------------------------------------------------------------------------


def test_a_relabelled_field_shows_its_new_label_in_the_ticket_form(admin_client, app):
    response = admin_client.post("/admin/fields/contract_number", data={
        "label": "Номер договора купли-продажи", "help_text": "Смотрите первую страницу.",
        "order": "5", "required": "y", "shown_on_card": "y", "shown_to_customer": "y"})
    assert response.status_code == 303
    request_type = workflow.ticket_type("request")
    with app.test_request_context():
        form = ticket_form(request_type, "agent")
        assert form.field("contract_number").label.text == "Номер договора купли-продажи"
        assert form.field("contract_number").description == "Смотрите первую страницу."
        assert list(form.definitions)[0] == "contract_number"
        assert form.field("contract_number").flags.required
        # No longer filled in by customers.
        assert ticket_form(request_type, "customer").field("contract_number") is None
    html = admin_client.get("/admin/fields").get_data(as_text=True)
    assert "Номер договора купли-продажи" in html

    assert admin_client.post("/admin/fields/contract_number/reset").status_code == 303
    with app.test_request_context():
        form = ticket_form(request_type, "customer")
        assert form.field("contract_number").label.text == "№ договора"


def test_a_bad_field_change_writes_nothing(admin_client):
    response = admin_client.post("/admin/fields/subject", data={"label": "", "order": "x"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "label")
    db.session.expire_all()
    assert field_service.definition("subject").overrides == {}


def test_custom_fields_are_created_with_choices_and_removed(admin_client, app):
    response = admin_client.post("/admin/fields", data={
        "key": "floor", "label": "Этаж", "type": "choice",
        "choices": "low = Низкий\nhigh = Высокий\nПодвал", "ticket_types": ["request"],
        "order": "33", "shown_on_card": "y", "editable_by_customer": "y"})
    assert response.status_code == 303
    request_type = workflow.ticket_type("request")
    with app.test_request_context():
        field = ticket_form(request_type, "customer").field("floor")
        assert field.label.text == "Этаж"
        assert [(c.value, c.label) for c in field.choices][1:] == [
            ("low", "Низкий"), ("high", "Высокий"), ("Подвал", "Подвал")]
    html = admin_client.get("/admin/fields").get_data(as_text=True)
    assert "Этаж" in html and "Заявка" in html

    bad = admin_client.post("/admin/fields", data={"key": "floor2", "label": "X",
                                                   "type": "choice"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "choices")
    dup = admin_client.post("/admin/fields", data={"key": "floor", "label": "X", "type": "text"})
    assert dup.status_code == 422 and field_error(dup.get_data(as_text=True), "key")

    assert admin_client.post("/admin/fields/floor/deactivate").status_code == 303
    assert "floor" not in [f.key for f in fieldset.for_type(request_type)]
    assert admin_client.post("/admin/fields/subject/deactivate").status_code == 404


# -- dictionaries ----------------------------------------------------------------------------


def test_dictionary_items_are_added_renamed_hidden_and_reordered(admin_client):
    queue = next(f for f in fieldset.all_fields() if f.key == "queue")
    response = admin_client.post("/admin/dictionaries/queues/items", data={
        "value": "warranty", "label": "Гарантия", "group": "Дом", "visible": "y"})
    assert response.status_code == 303
    assert ("warranty", "Гарантия") in fieldset.base_choices(queue)
    dup = admin_client.post("/admin/dictionaries/queues/items", data={
        "value": "warranty", "label": "Снова", "visible": "y"})
    assert dup.status_code == 422 and field_error(dup.get_data(as_text=True), "value")

    clist = field_service.choice_list("queues")
    item = next(i for i in clist.items if i.value == "warranty")
    admin_client.post(f"/admin/dictionaries/queues/items/{item.id}", data={
        f"i{item.id}-label": "Гарантийный случай", f"i{item.id}-group": "Дом",
        f"i{item.id}-visible": "y"})
    admin_client.post(f"/admin/dictionaries/queues/items/{item.id}/move",
                      data={"direction": "up"})
    db.session.expire_all()
    values = [v for v, _label in fieldset.base_choices(queue)]
    assert values[-2:] == ["warranty", "billing"]
    assert ("warranty", "Гарантийный случай") in fieldset.base_choices(queue)

    admin_client.post(f"/admin/dictionaries/queues/items/{item.id}/visibility")
    assert "warranty" not in [v for v, _label in fieldset.base_choices(queue)]
    html = admin_client.get("/admin/dictionaries/queues").get_data(as_text=True)
    assert "Гарантийный случай" in html and "скрыт" in html


def test_a_new_dictionary_is_created(admin_client):
    response = admin_client.post("/admin/dictionaries", data={"key": "defects",
                                                              "name": "Категории дефектов"})
    assert response.status_code == 303
    assert field_service.choice_list("defects").name == "Категории дефектов"
    bad = admin_client.post("/admin/dictionaries", data={"key": "defects", "name": "Снова"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "key")


# -- users and roles --------------------------------------------------------------------------


def test_an_agent_is_created_with_roles_and_gets_a_password_link(admin_client, mailbox):
    response = admin_client.post("/admin/users", data={
        "email": "new.agent@test.example", "name": "Новый Агент", "roles": ["agent"]})
    assert response.status_code == 303
    user = users.by_email("new.agent@test.example")
    assert user.is_agent and [r.key for r in user.roles] == ["agent"]
    assert any("/auth/password/" in link for link in mailbox.links(mailbox.last))
    assert mailbox.to("new.agent@test.example")

    dup = admin_client.post("/admin/users", data={
        "email": "new.agent@test.example", "name": "Дубль", "roles": ["agent"]})
    assert dup.status_code == 422 and field_error(dup.get_data(as_text=True), "email")


def test_agents_are_edited_deactivated_reactivated_and_sent_a_reset_link(
        admin_client, admin, agent, mailbox):
    response = admin_client.post(f"/admin/users/{agent.id}", data={
        "name": "Агент Смит", "roles": ["agent", "admin"]})
    assert response.status_code == 303
    db.session.expire_all()
    assert sorted(r.key for r in users.by_email(agent.email).roles) == ["admin", "agent"]

    admin_client.post(f"/admin/users/{agent.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert users.by_email(agent.email).is_active is False
    assert users.authenticate(agent.email, "agent-pass-1") is None
    admin_client.post(f"/admin/users/{agent.id}/active", data={"active": "1"})
    db.session.expire_all()
    assert users.authenticate(agent.email, "agent-pass-1") is not None

    admin_client.post(f"/admin/users/{agent.id}/password")
    assert mailbox.to(agent.email)
    assert any("/auth/password/" in link for link in mailbox.links(mailbox.last))

    # Nobody locks themselves out.
    admin_client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert users.by_email(admin.email).is_active is True
    mine = admin_client.post(f"/admin/users/{admin.id}", data={"name": "Admin",
                                                               "roles": ["agent"]})
    assert mine.status_code == 422 and field_error(mine.get_data(as_text=True), "roles")


def test_role_permissions_are_edited_with_checkboxes(admin_client, agent):
    from kernel import permissions

    agent_role = db.session.scalar(db.select(Role).where(Role.key == "agent"))
    assert "customers.view" in agent_role.permissions
    granted = [p for p in agent_role.permissions if p != "customers.view"]
    response = admin_client.post("/admin/roles/agent", data={"name": "Агент",
                                                             "permissions": granted})
    assert response.status_code == 303
    db.session.expire_all()
    assert not permissions.has(users.by_email(agent.email), "customers.view")

    bad = admin_client.post("/admin/roles/agent", data={"name": "Агент",
                                                        "permissions": ["no.such"]})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "permissions")

    response = admin_client.post("/admin/roles", data={
        "key": "viewer", "name": "Наблюдатель", "permissions": ["tickets.view", "reports.view"]})
    assert response.status_code == 303
    role = db.session.scalar(db.select(Role).where(Role.key == "viewer"))
    assert role.permissions == ["reports.view", "tickets.view"]
    # The administrator role keeps "everything".
    admin_client.post("/admin/roles/admin", data={"name": "Администратор", "permissions": []})
    db.session.expire_all()
    assert "*" in db.session.scalar(db.select(Role).where(Role.key == "admin")).permissions


# -- plugins and settings -------------------------------------------------------------------


def test_plugins_are_listed_read_only(admin_client):
    html = admin_client.get("/admin/plugins").get_data(as_text=True)
    assert "helpdesk" in html and "встроенный" in html and "включён" in html
    assert "<form" not in html.split('id="main"')[1].split("</main>")[0].replace(
        'class="lang-switch"', "")


def test_live_settings_are_saved_through_the_settings_service(admin_client):
    workflow.create_type("repair", "Repair", "support", "C-{seq}")
    response = admin_client.post("/admin/settings", data={
        "s_kernel__default_ticket_type": "repair"})
    assert response.status_code == 303
    assert settings.get("kernel.default_ticket_type") == "repair"
    bad = admin_client.post("/admin/settings", data={"s_kernel__default_ticket_type": "nope"})
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "s_kernel__default_ticket_type")
    assert settings.get("kernel.default_ticket_type") == "repair"
