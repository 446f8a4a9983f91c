"""Forms built from field definitions (web.forms): fields, order, labels, choices,
required marks and help texts from the kernel; raw values to the services;
kernel refusals beside their fields; values shown on a card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import render_template_string
from werkzeug.datastructures import MultiDict

from kernel import declarations as d
from kernel import fieldset, hookimpl
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.services import fields as fields_service
from kernel.services import tickets
from kernel.testing import build_app
from web import i18n
from web.forms import apply_errors, display_value, local_to_utc_iso, ticket_form

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def request_type(app):
    return tickets.ticket_type("request")


def post(app, data, user=None):
    """A request context posting ``data`` (as the browser would), as ``user``."""
    ctx = app.test_request_context("/", method="POST", data=MultiDict(data))
    ctx.push()
    if user is not None:
        from flask_login import login_user

        login_user(user)
    return ctx


def test_customer_form_has_the_customer_fields_in_order(app, request_type, customer_user):
    with post(app, {}, customer_user), i18n.use("ru"):
        form = ticket_form(request_type, "customer", actor=customer_user)
        keys = [definition.key for _field, definition in form.definition_fields()]
        assert keys == [f.key for f in fieldset.for_type(request_type, "customer")]
        assert keys[:3] == ["subject", "text", "queue"] and "assignee" not in keys
        subject = form.field("subject")
        assert subject.label.text == "Тема" and subject.flags.required
        assert form.field("contract_number").description == "Как указано в вашем договоре."
        queue = form.field("queue")
        assert [(c.value, c.label) for c in queue.choices] == [
            ("", "—"), ("general", "Общий вопрос"), ("technical", "Техническая проблема"),
            ("billing", "Счета и документы")]


def test_values_go_to_the_kernel_raw_and_a_ticket_is_made(app, request_type, customer_user):
    data = {"subject": " Не работает ", "text": "Подробности", "queue": "technical",
            "contract_number": "Д-15", "contact_phone": "8 912 345 67 89"}
    with post(app, data, customer_user):
        form = ticket_form(request_type, "customer", actor=customer_user)
        values = form.ticket_values()
        assert values["subject"] == "Не работает" and values["contact_name"] is None
        ticket = tickets.create(values, actor=customer_user, type="request")
    assert ticket.subject == "Не работает" and ticket.queue == "technical"
    assert ticket.value("contact_phone") == "+79123456789"
    assert ticket.customer_id == customer_user.customer_id


def test_kernel_refusals_are_shown_beside_their_fields(app, request_type, customer_user):
    data = {"subject": "", "queue": "nonsense", "contact_phone": "12"}
    with post(app, data, customer_user), i18n.use("ru"):
        form = ticket_form(request_type, "customer", actor=customer_user)
        with pytest.raises(ValidationFailed) as refused:
            tickets.create(form.ticket_values(), actor=customer_user, type="request")
        apply_errors(form, refused.value)
        assert form.field("subject").errors == ["Обязательное поле."]
        assert form.field("queue").errors == ["Значение 'nonsense' выбрать нельзя."]
        assert form.field("contact_phone").errors == ["12 — неверный номер телефона."]
        html = render_template_string(
            '{% import "macros/forms.html" as forms %}{{ forms.ticket_fields(form) }}'
            "{{ forms.form_errors(form) }}", form=form)
    assert '<p class="field-error" id="subject-error">Обязательное поле.</p>' in html
    assert '<span class="required-mark" aria-hidden="true">*</span>' in html
    assert 'aria-describedby="contract_number-help"' in html
    assert "required" not in html.split('id="subject"')[1].split(">")[0]  # the kernel decides


def test_errors_for_keys_without_a_field_are_listed_on_top(app, request_type, agent):
    with post(app, {}, agent), i18n.use("ru"):
        form = ticket_form(request_type, "agent", actor=agent, only=["subject"])
        apply_errors(form, ValidationFailed({"type": "Unknown ticket type 'x'.",
                                             "_schema": "Expected an object of field values.",
                                             "deadline": "This field is required."}))
        assert form.form_errors == ["type: Неизвестный тип заявки x.",
                                    "Expected an object of field values.",
                                    "Срок: Обязательное поле."]


def test_a_datetime_typed_in_the_readers_zone_is_sent_with_its_offset(app, request_type, agent):
    agent.timezone = "Asia/Vladivostok"
    db.session.commit()
    with post(app, {"subject": "Срочно", "deadline": "2024-05-12T21:30"}, agent):
        form = ticket_form(request_type, "agent", actor=agent)
        values = form.ticket_values()
        assert values["deadline"] == "2024-05-12T11:30:00+00:00"
        ticket = tickets.create(values, actor=agent, type="request")
    assert ticket.deadline == datetime(2024, 5, 12, 11, 30, tzinfo=UTC)
    with i18n.use("ru", "UTC"):
        assert local_to_utc_iso("not a date") == "not a date"  # the kernel refuses it by name
        assert local_to_utc_iso("12.05.2024 21:30") == "2024-05-12T21:30:00+00:00"


def test_an_edit_form_opens_with_the_values_and_sends_only_changes(app, request_type, agent,
                                                                   make_ticket):
    ticket = make_ticket(actor=agent, subject="Было", queue="billing", urgent=True,
                         deadline="2024-05-12T11:30:45+00:00")
    with app.test_request_context("/"), i18n.use("ru", "Europe/Moscow"):
        form = ticket_form(request_type, "agent", actor=agent, ticket=ticket)
        assert form.field("subject").data == "Было"
        # In the reader's language, never the browser's mm/dd/yyyy.
        assert form.field("deadline").data == "12.05.2024 14:30"
        assert form.field("urgent").data is True
    data = {"subject": "Стало", "queue": "billing", "urgent": "y",
            "deadline": "12.05.2024 14:30", "assignee": str(agent.id)}
    with post(app, data, agent), i18n.use("ru", "Europe/Moscow"):
        form = ticket_form(request_type, "agent", actor=agent, ticket=ticket)
        changed = form.changed_values()
    # Seconds the form cannot show are not lost by re-saving an untouched deadline.
    assert changed == {"subject": "Стало"}
    assert tickets.update(ticket, changed, actor=agent) == {"subject": ["Было", "Стало"]}


def test_values_on_a_card(app, request_type, agent, customer_user, make_ticket):
    ticket = make_ticket(actor=agent, subject="Карточка", queue="technical",
                         customer=customer_user.customer_id, contact_phone="+79123456789",
                         deadline="2024-05-12T11:30:00+00:00")
    by_key = {f.key: f for f in fieldset.for_type(request_type)}
    with app.test_request_context("/"), i18n.use("ru", "Europe/Moscow"):
        shown = {key: display_value(by_key[key], ticket.value(key), ticket, agent)
                 for key in ("queue", "urgent", "deadline", "customer", "contact_phone",
                             "contract_number", "assignee")}
        html = render_template_string(
            '{% import "macros/fields.html" as fields %}'
            "{{ fields.field_list(defs, ticket) }}", defs=list(by_key.values()), ticket=ticket)
    assert shown["queue"].text == "Техническая проблема"
    assert shown["urgent"].text == "Нет"
    assert shown["deadline"].text == "12 мая 2024\u202fг., 14:30"
    assert shown["customer"].text == "Buyer"
    assert shown["assignee"].text == "Agent"
    assert (shown["contact_phone"].text, shown["contact_phone"].href) == (
        "+7 912 345-67-89", "tel:+79123456789")
    assert shown["contract_number"].empty
    assert "<dt>Проблема</dt>" in html and "Техническая проблема" in html
    assert "№ договора" not in html  # empty values are left out


def test_every_field_type_gets_an_input(app, agent):
    for key, kind, extra in [
        ("f_number", "number", {}), ("f_date", "date", {}), ("f_email", "email", {}),
        ("f_multi", "multi_choice", {"choices": [["a", "Alpha"], ["b", "Beta"]]}),
        ("f_file", "file", {}), ("f_long", "long_text", {}),
    ]:
        fields_service.create_custom({"key": key, "type": kind, "label": key, **extra})
    ttype = tickets.ticket_type("request")
    data = MultiDict([("subject", "Все типы"), ("f_number", "1,5"), ("f_date", "2024-05-12"),
                      ("f_email", "a@b.example"), ("f_multi", "a"), ("f_multi", "b"),
                      ("f_long", "строка 1\nстрока 2")])
    with post(app, data, agent):
        form = ticket_form(ttype, "agent", actor=agent)
        html = render_template_string(
            '{% import "macros/forms.html" as forms %}{{ forms.ticket_fields(form) }}', form=form)
        values = form.ticket_values()
        ticket = tickets.create(values, actor=agent, type="request")
    assert 'data-date-input="date"' in html and 'type="email"' in html and 'type="file"' in html
    assert 'type="date"' not in html  # the browser's own format would ignore the language
    assert 'type="checkbox"' in html and 'inputmode="decimal"' in html
    assert "f_file" not in values
    assert ticket.value("f_number") == 1.5 and ticket.value("f_multi") == ["a", "b"]
    assert ticket.value("f_date") == "2024-05-12"


def test_a_field_key_that_shadows_a_form_attribute_still_works(app, agent):
    fields_service.create_custom({"key": "data", "type": "text", "label": "Data"})
    ttype = tickets.ticket_type("request")
    with post(app, {"subject": "x", "field_data": "значение"}, agent):
        form = ticket_form(ttype, "agent", actor=agent)
        assert form.field("data").name == "field_data"
        assert form.ticket_values()["data"] == "значение"
        apply_errors(form, ValidationFailed({"data": "Invalid value."}))
        assert form.field("data").errors == ["Неверное значение."]


class Filtering:
    """Offers only one queue to customers, and a call icon beside phones."""

    @hookimpl
    def hookdesk_field_choices(self, field, actor):
        if field.key == "queue" and actor is not None and actor.is_customer:
            return [("billing", "Billing")]
        return None

    @hookimpl
    def hookdesk_phone_actions(self, phone, viewer, ticket):
        return [d.PhoneAction("probe.call", "Call", f"tel:{phone}", "☎")]


def test_choices_and_phone_actions_come_from_plugins(tmp_path):
    app = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": Filtering()})
    with app.app_context():
        from kernel.services import users

        buyer = users.create({"email": "b@test.example", "kind": "customer", "name": "B"})
        agent = users.create({"email": "a@test.example", "roles": ["agent"], "name": "A"})
        ttype = tickets.ticket_type("request")
        with post(app, {}, buyer):
            form = ticket_form(ttype, "customer", actor=buyer)
            assert [c.value for c in form.field("queue").choices] == ["", "billing"]
            phone = next(f for f in fieldset.for_type(ttype) if f.key == "contact_phone")
            assert display_value(phone, "+79123456789", None, buyer).actions == []
            shown = display_value(phone, "+79123456789", None, agent)
            assert [a.key for a in shown.actions] == ["probe.call"]
        db.session.remove()
        db.engine.dispose()


def test_dates_are_typed_in_the_readers_language(app):
    from web import dates

    with app.test_request_context("/"), i18n.use("ru", "UTC"):
        assert dates.input_attrs()["placeholder"] == "ДД.ММ.ГГГГ"
        assert dates.format_date("2026-12-31") == "31.12.2026"
        assert dates.to_iso_date("31.12.2026") == "2026-12-31"
        assert dates.to_iso_date("2026-12-31") == "2026-12-31"
        assert dates.to_iso_date("31.13.2026") == "31.13.2026"  # unreadable: the kernel says so
    with app.test_request_context("/"), i18n.use("en", "UTC"):
        assert dates.format_date("2026-12-31") == "2026-12-31"
        assert dates.to_iso_date("1.2.2026") == "2026-02-01"
