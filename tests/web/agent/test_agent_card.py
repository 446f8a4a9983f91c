"""The agent's ticket card: fields, edit with a stale-version conflict, only
allowed status changes, assign, replies vs internal notes (hidden from the
customer), files, links, history, and what plugins add (panels, buttons)."""

from __future__ import annotations

import io

import pytest
from flask import Blueprint

from kernel import declarations as d
from kernel import hookimpl
from kernel.db import db
from kernel.models import Message, Ticket
from kernel.services import customers, messages, tickets, users
from kernel.testing import build_app
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


def reload(ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


@pytest.fixture
def ticket(app, agent, make_ticket):
    buyer = customers.create({"name": "Пётр Покупатель", "phones": ["+79123456789"]})
    return make_ticket(actor=agent, subject="Течёт кран", customer=buyer.id, queue="technical")


def test_card_shows_fields_and_history(client, agent, ticket):
    login(client, agent)
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert ticket.number in html and "Течёт кран" in html and "Пётр Покупатель" in html
    assert 'href="tel:+79123456789"' in html
    assert "Заявка создана" in html  # the history
    # only the allowed next statuses are offered
    select = html.split('id="status-to"', 1)[1].split("</select>", 1)[0]
    assert 'value="in_progress"' in select and 'value="resolved"' in select
    assert 'value="waiting"' not in select and 'value="new"' not in select


def test_missing_ticket_is_404(client, agent):
    login(client, agent)
    assert client.get("/agent/tickets/999").status_code == 404


def test_edit_saves_and_records_history(client, agent, ticket):
    login(client, agent)
    response = client.post(f"/agent/tickets/{ticket.id}/edit", data={
        "expected_version": str(ticket.version), "subject": "Течёт кран на кухне",
        "queue": "technical", "priority": "high", "customer": str(ticket.customer_id)})
    assert response.status_code == 303
    fresh = reload(ticket)
    assert fresh.subject == "Течёт кран на кухне" and fresh.priority == "high"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Изменения сохранены." in html


def test_edit_with_a_stale_version_is_a_conflict(client, agent, ticket):
    login(client, agent)
    stale = ticket.version
    tickets.update(ticket, {"priority": "low"}, actor=agent)  # someone else, meanwhile
    response = client.post(f"/agent/tickets/{ticket.id}/edit", data={
        "expected_version": str(stale), "subject": "Моё изменение", "queue": "technical",
        "customer": str(ticket.customer_id)})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Кто-то изменил эту заявку, пока вы её редактировали" in html
    assert reload(ticket).subject == "Течёт кран"


def test_bad_edit_is_refused_beside_the_field(client, agent, ticket):
    login(client, agent)
    response = client.post(f"/agent/tickets/{ticket.id}/edit", data={
        "expected_version": str(ticket.version), "subject": "", "queue": "technical",
        "customer": str(ticket.customer_id)})
    assert response.status_code == 422
    assert 'id="subject-error"' in response.get_data(as_text=True)
    assert reload(ticket).subject == "Течёт кран"


def test_only_allowed_transitions(client, agent, ticket):
    login(client, agent)
    refused = client.post(f"/agent/tickets/{ticket.id}/status", data={"status": "waiting"})
    assert refused.status_code == 409 and reload(ticket).status.key == "new"
    response = client.post(f"/agent/tickets/{ticket.id}/status", data={
        "status": "in_progress", "expected_version": str(ticket.version),
        "comment": "Взял в работу"})
    assert response.status_code == 303 and reload(ticket).status.key == "in_progress"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    history = html.split('id="history"', 1)[1]
    assert "Взял в работу" in history and "Новая → В работе" in history


def test_assign(client, agent, ticket):
    other = users.create({"email": "o@test.example", "password": "other-pass-1",
                          "roles": ["agent"], "name": "Ольга"})
    login(client, agent)
    response = client.post(f"/agent/tickets/{ticket.id}/assign", data={
        "assignee": str(other.id), "expected_version": str(ticket.version)})
    assert response.status_code == 303 and reload(ticket).assignee_id == other.id
    history = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True).split(
        'id="history"', 1)[1]
    assert "Ответственный:</span> <s>Agent</s> → <b>Ольга</b>" in history  # from → to
    client.post(f"/agent/tickets/{ticket.id}/assign", data={"assignee": "999"})
    assert reload(ticket).assignee_id == other.id


def test_reply_and_internal_note_and_the_customer_sees_only_the_reply(client, agent, ticket):
    account = users.create({"email": "buyer@test.example", "password": "buyer-pass-1",
                            "kind": "customer", "name": "Пётр",
                            "customer_id": ticket.customer_id})
    login(client, agent)
    client.post(f"/agent/tickets/{ticket.id}/messages",
                data={"body": "Мастер придёт завтра", "internal": "0"})
    client.post(f"/agent/tickets/{ticket.id}/messages",
                data={"body": "Клиент конфликтный", "internal": "1"})
    notes = {m.body: m.internal for m in db.session.scalars(db.select(Message))}
    assert notes == {"Мастер придёт завтра": False, "Клиент конфликтный": True}
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "agent-msg--internal" in html and "agent-msg--agent" in html
    assert "Внутренняя заметка" in html
    seen = [m.body for m in messages.thread(reload(ticket), account)]
    assert seen == ["Мастер придёт завтра"]
    empty = client.post(f"/agent/tickets/{ticket.id}/messages", data={"body": " "})
    assert empty.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 2


def test_upload_download_and_link(client, agent, ticket, make_ticket):
    other = make_ticket(actor=agent, subject="Вторая")
    login(client, agent)
    response = client.post(f"/agent/tickets/{ticket.id}/files", data={
        "files": (io.BytesIO(b"%PDF-1.4 plan"), "plan.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    href = html.split('href="/files/', 1)[1].split('"', 1)[0]
    assert client.get(f"/files/{href}").data == b"%PDF-1.4 plan"
    client.post(f"/agent/tickets/{ticket.id}/links", data={"target": other.number,
                                                           "kind": "related"})
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert f">{other.number}</a>" in html
    client.post(f"/agent/tickets/{ticket.id}/links", data={"target": "NOPE-1"})
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "Нет заявки с номером «NOPE-1»" in html


# -- plugins on the card ---------------------------------------------------------


class CardProbe:
    """A test plugin: a panel, a button (with its own POST route) and a phone icon."""

    @hookimpl
    def hookdesk_register_blueprints(self):
        import os
        import tempfile

        folder = tempfile.mkdtemp()
        os.makedirs(os.path.join(folder, "probe"))
        with open(os.path.join(folder, "probe", "panel.html"), "w") as fh:
            fh.write('<p id="probe-panel">{{ greeting }} {{ ticket.number }}</p>')
        bp = Blueprint("probe", __name__, url_prefix="/probe", template_folder=folder)

        @bp.post("/convert")
        def convert():
            return "converted"

        return [bp]

    @hookimpl
    def hookdesk_ticket_card_panels(self, ticket, viewer):
        return [d.Panel("probe", "Probe panel", "probe/panel.html", {"greeting": "Hello"})]

    @hookimpl
    def hookdesk_ticket_card_buttons(self, ticket, viewer):
        return [d.Button("convert", "Convert", "/probe/convert")]

    @hookimpl
    def hookdesk_phone_actions(self, phone, viewer, ticket):
        return [d.PhoneAction("call", "Call", f"/probe/call?to={phone}", "☎")]


def test_plugin_panels_buttons_and_phone_icons(tmp_path):
    app = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": CardProbe()})
    with app.app_context():
        agent = users.create({"email": "a@test.example", "password": "agent-pass-1",
                              "roles": ["agent"], "name": "A"})
        buyer = customers.create({"name": "Пётр", "phones": ["+79123456789"]})
        ticket = tickets.create({"subject": "X", "customer": buyer.id}, actor=agent)
        client = app.test_client()
        login(client, agent)
        html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
        assert f'<p id="probe-panel">Hello {ticket.number}</p>' in html
        assert "Probe panel" in html
        button = html.split('data-plugin-button="convert"', 1)[0].rsplit("<form", 1)[1]
        assert 'method="post" action="/probe/convert"' in button
        form = html.split('data-plugin-button="convert"', 1)[1].split("</form>", 1)[0]
        assert 'name="csrf_token"' in form
        assert 'href="/probe/call?to=+79123456789"' in html
        assert client.post("/probe/convert").get_data(as_text=True) == "converted"
        db.session.remove()
        db.engine.dispose()


def test_the_agent_chooses_per_comment_whether_the_customer_sees_it(
        client, agent, customer_user, make_ticket):
    ticket = make_ticket(actor=customer_user, subject="Течёт кран")
    login(client, agent)
    card = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert 'name="comment_public"' in card and "checked" not in card.split(
        'name="comment_public"', 1)[1].split(">", 1)[0]  # a working note unless ticked
    client.post(f"/agent/tickets/{ticket.id}/status", data={
        "status": "in_progress", "comment": "Рабочая: позвонить мастеру"})
    client.post(f"/agent/tickets/{ticket.id}/status", data={
        "status": "waiting", "comment": "Ждём запчасть до пятницы", "comment_public": "1"})
    history = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True).split(
        'id="history"', 1)[1]
    assert "Рабочая заметка" in history and "Видит клиент" in history
    client.post("/auth/logout")
    login(client, customer_user)
    portal = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Ждём запчасть до пятницы" in portal and "позвонить мастеру" not in portal


def test_empty_contact_fields_show_the_customer_record(client, agent, ticket):
    login(client, agent)
    html = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    details = html.split('id="fields-title"', 1)[1].split("</section>", 1)[0]
    assert "Пётр Покупатель" in details and 'href="tel:+79123456789"' in details



def test_only_the_customer_itself_or_staff_read_the_customer_record(agent, ticket):
    from kernel.visibility import Reader, sees_customer_of

    other = customers.create({"name": "Чужой"})
    assert sees_customer_of(ticket, agent)
    assert sees_customer_of(ticket, Reader(customer_id=ticket.customer_id))
    assert not sees_customer_of(ticket, Reader(customer_id=other.id))
