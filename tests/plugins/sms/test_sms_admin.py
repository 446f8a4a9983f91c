"""The admin screens: gateway settings (refusals name the field, nothing half
saved), templates, opt-outs; the send page; the tables and their migration."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel.db import db
from kernel.services import settings
from plugins.sms import gateways, service
from plugins.sms.models import SmsMessage, SmsOptOut, SmsTemplate
from web.testing import login

GOOD = {"gateway": "smpp", "sender": "Hookdesk", "rate_limit": "5", "max_parts": "6",
        "smsru_url": "https://sms.ru", "smpp_host": "smsc.example.net", "smpp_port": "2775",
        "smpp_system_id": "hookdesk", "smpp_password": "secret", "smpp_system_type": ""}


def test_settings_are_checked_and_saved_whole(app, client, admin):
    login(client, admin)
    page = client.get("/admin/sms").get_data(as_text=True)
    assert "Не настроен" in page
    bad = {**GOOD, "smpp_port": "70000", "smpp_system_id": "", "sender": "Очень длинное имя",
           "rate_limit": "-1"}
    response = client.post("/admin/sms", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Целое число от 1 до 65535." in html and "Обязательно для этого шлюза." in html
    assert "Целое число от 0 до 1000." in html and "До 11 латинских букв" in html
    assert settings.get("sms.gateway") == "" and not gateways.is_configured()
    assert client.post("/admin/sms", data=GOOD).status_code == 303
    assert gateways.is_configured() and settings.get("sms.smpp_port") == 2775
    # An empty password field keeps the saved one, and the page never shows it.
    client.post("/admin/sms", data={**GOOD, "smpp_password": ""})
    assert settings.get("sms.smpp_password") == "secret"
    assert "secret" not in client.get("/admin/sms").get_data(as_text=True)
    # SMS.ru gets a callback address with a secret of its own.
    client.post("/admin/sms", data={**GOOD, "gateway": "smsru", "smsru_api_id": "abc"})
    token = settings.get("sms.callback_token")
    assert token and f"/sms/callback/smsru/{token}" in client.get("/admin/sms").get_data(
        as_text=True)
    # The kernel's page of every live setting shows them too, and keeps them when saved.
    page = client.get("/admin/settings")
    assert page.status_code == 200 and "s_sms__gateway" in page.get_data(as_text=True)


def test_only_managers_open_the_admin(app, client, agent):
    login(client, agent)
    for path in ("/admin/sms", "/admin/sms/templates", "/admin/sms/messages", "/admin/sms/dev",
                 "/admin/sms/opt-outs"):
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/sms", data=GOOD).status_code == 403
    assert not gateways.is_configured()


def test_templates_and_opt_outs_pages(app, client, admin):
    login(client, admin)
    response = client.post("/admin/sms/templates", data={"name": "Х", "body_ru": "{{oops}}"})
    assert response.status_code == 422
    assert "Неизвестная подстановка {{oops}}" in response.get_data(as_text=True)
    client.post("/admin/sms/templates", data={"name": "Принята", "is_active": "y",
                                              "body_ru": "Заявка {{ticket.number}} принята",
                                              "body_en": "Ticket {{ticket.number}} received"})
    template = db.session.scalar(db.select(SmsTemplate))
    assert template.name == "Принята" and template.is_active
    assert client.post(f"/admin/sms/templates/{template.id}",
                       data={"name": "Принята", "body_ru": "Новый текст"}).status_code == 303
    db.session.refresh(template)
    assert template.body_ru == "Новый текст" and not template.is_active
    client.post(f"/admin/sms/templates/{template.id}", data={"delete": "1"})
    assert db.session.scalar(db.select(SmsTemplate)) is None
    response = client.post("/admin/sms/opt-outs", data={"phone": "12"})
    assert response.status_code == 422
    assert "12 — неверный номер телефона." in response.get_data(as_text=True)
    client.post("/admin/sms/opt-outs", data={"phone": "8 912 345 67 89", "note": "просил"})
    row = db.session.scalar(db.select(SmsOptOut))
    assert row.phone == "+79123456789"
    client.post(f"/admin/sms/opt-outs/{row.id}/delete")
    assert not service.is_opted_out("+79123456789")


def test_the_send_page_for_a_number_without_a_ticket(dev, app, client, agent, admin):
    login(client, agent)
    page = client.get("/sms/new?phone=%2B79123456789").get_data(as_text=True)
    assert 'value="+79123456789"' in page and "data-sms-count" in page
    response = client.post("/sms/new", data={"phone": "+79123456789", "text": "Перезвоните"})
    assert response.status_code == 303
    [message] = db.session.scalars(db.select(SmsMessage)).all()
    assert message.ticket_id is None and message.status == "sent"
    other = app.test_client()
    login(other, admin)
    assert "Перезвоните" in other.get("/admin/sms/messages").get_data(as_text=True)


def test_the_migrated_tables_match_the_models_and_the_branch_downgrades_alone(app):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    assert [d for d in compare_metadata(context, db.metadata) if "sms_" in repr(d)] == []
    db.session.remove()
    flask_migrate.downgrade(revision="sms@base")
    existing = set(sa.inspect(db.engine).get_table_names())
    assert not any(name.startswith("sms_") for name in existing) and "tickets" in existing
    flask_migrate.upgrade(revision="heads")
    assert "sms_messages" in set(sa.inspect(db.engine).get_table_names())
