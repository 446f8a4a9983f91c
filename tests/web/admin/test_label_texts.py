"""Admin-made words in both languages (X2, K4): a field, status, pipeline, type or
dictionary item an admin creates or renames has a Russian and an English text;
pages show the viewer's language, falling back to the text as written."""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.errors import NotFound
from kernel.models import LabelTranslation
from kernel.services import labels, users, workflow
from web.testing import login


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


def english_customer(app):
    return users.create({"email": "en@test.example", "password": "buyer-pass-1",
                         "kind": "customer", "name": "Reader", "locale": "en"})


def test_a_custom_field_shows_in_the_readers_language(admin_client, app):
    response = admin_client.post("/admin/fields", data={
        "key": "contract", "label": "Номер договора купли-продажи", "type": "text",
        "label_en": "Sale contract number", "help_text": "Смотрите первую страницу.",
        "help_text_en": "See the first page.", "ticket_types": ["request"],
        "editable_by_customer": "y", "shown_to_customer": "y", "required": "y"})
    assert response.status_code == 303
    admin_client.get(response.headers["Location"])  # the admin reads the flash
    reader = english_customer(app)
    login(admin_client, reader)
    html = admin_client.get("/portal/new?type=request").get_data(as_text=True)
    assert "Sale contract number" in html and "See the first page." in html
    assert "Номер договора" not in html

    from web import i18n

    with app.test_request_context():
        with i18n.use("ru"):
            assert i18n.translate_label("Номер договора купли-продажи") == \
                "Номер договора купли-продажи"
        with i18n.use("en"):
            assert i18n.translate_label("Номер договора купли-продажи") == "Sale contract number"


def test_the_edit_form_shows_and_changes_both_texts(admin_client):
    admin_client.post("/admin/fields", data={
        "key": "floor", "label": "Этаж", "type": "text", "label_en": "Floor"})
    html = admin_client.get("/admin/fields/floor").get_data(as_text=True)
    assert 'name="label_en"' in html and 'value="Floor"' in html
    # Only the English text changes: saved although the main label did not change.
    response = admin_client.post("/admin/fields/floor", data={
        "label": "Этаж", "label_en": "Storey", "shown_on_card": "y"})
    assert response.status_code == 303
    assert labels.translations("Этаж") == {"en": "Storey"}
    # Emptying it removes it.
    admin_client.post("/admin/fields/floor", data={"label": "Этаж", "label_en": "",
                                                   "shown_on_card": "y"})
    assert labels.translations("Этаж") == {}


def test_statuses_types_pipelines_and_items_get_english_names(admin_client, app):
    assert admin_client.post("/admin/pipelines", data={
        "key": "repair", "name": "Ремонт", "name_en": "Repair",
        "statuses": "accepted, Принята, open\ndone, Готово, closed_success"}).status_code == 303
    assert admin_client.post("/admin/pipelines/repair/statuses", data={
        "key": "waiting", "name": "Ждём запчасти", "name_en": "Waiting for parts",
        "group": "open"}).status_code == 303
    assert admin_client.post("/admin/pipelines/repair/statuses/accepted", data={
        "s-accepted-name": "Принята", "s-accepted-name_en": "Accepted",
        "s-accepted-group": "open", "s-accepted-no_color": "y"}).status_code == 303
    assert admin_client.post("/admin/types", data={
        "key": "repair_job", "name": "Ремонт техники", "name_en": "Appliance repair",
        "pipeline": "repair", "number_template": "R-{seq}"}).status_code == 303
    assert admin_client.post("/admin/dictionaries/queues/items", data={
        "value": "vip", "label": "Особые клиенты", "label_en": "Key accounts",
        "visible": "y"}).status_code == 303
    from web import i18n

    with app.test_request_context(), i18n.use("en"):
        assert [i18n.translate_label(s.name) for s in workflow.pipeline("repair").statuses] \
            == ["Accepted", "Готово", "Waiting for parts"]
        assert i18n.translate_label("Ремонт") == "Repair"
        assert i18n.translate_label("Ждём запчасти") == "Waiting for parts"
        assert i18n.translate_label("Принята") == "Accepted"
        assert i18n.translate_label("Ремонт техники") == "Appliance repair"
        assert i18n.translate_label("Особые клиенты") == "Key accounts"
        # No English given: as written.
        assert i18n.translate_label("Готово") == "Готово"
    with app.test_request_context(), i18n.use("ru"):
        assert i18n.translate_label("Ремонт техники") == "Ремонт техники"


def test_an_admin_text_may_reword_a_declared_label(admin_client, app):
    from web import i18n

    labels.save("Subject", {"ru": "Тема обращения"})
    db.session.commit()
    with app.test_request_context(), i18n.use("ru"):
        assert i18n.translate_label("Subject") == "Тема обращения"
    with app.test_request_context(), i18n.use("en"):
        assert i18n.translate_label("Subject") == "Subject"


def test_a_too_long_text_is_refused_and_nothing_is_written(admin_client):
    response = admin_client.post("/admin/types", data={
        "key": "long_one", "name": "Длинный", "name_en": "x" * 201,
        "pipeline": "support", "number_template": "L-{seq}"})
    assert response.status_code == 422
    assert "name_en-error" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(LabelTranslation).count() == 0
    with pytest.raises(NotFound):
        workflow.ticket_type("long_one")


def test_a_failed_row_change_keeps_no_texts(admin_client):
    # The pipeline is refused (a bad status group): its English name is not kept.
    response = admin_client.post("/admin/pipelines", data={
        "key": "broken", "name": "Сломанная", "name_en": "Broken",
        "statuses": "a, A, somewhere"})
    assert response.status_code == 422
    db.session.expire_all()
    assert labels.translations("Сломанная") == {}
