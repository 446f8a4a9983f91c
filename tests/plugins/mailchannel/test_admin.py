"""The admin screens: mailboxes (with refusals naming the field), the
quarantine's retry and discard, the review queue; who may see them."""

from __future__ import annotations

import mail_letters as L
import pytest
from mail_letters import PLUGINS

from kernel.db import db
from kernel.models import Message, Ticket
from web.testing import login

pytestmark = pytest.mark.plugins(*PLUGINS)


def test_an_admin_creates_a_mailbox_and_bad_input_names_the_field(client, admin):
    from plugins.mailchannel.models import MailMailbox

    login(client, admin)
    page = client.get("/admin/mail/")
    assert page.status_code == 200 and "Почтовых ящиков пока нет" in page.text
    bad = client.post("/admin/mail/mailboxes", data={
        "name": "", "address": "not-an-address", "imap_port": "99999", "imap_host": "imap.x"})
    assert bad.status_code == 422
    for field in ("name", "address", "imap_port", "imap_username"):
        assert f'data-field="{field}"' in bad.text
    assert db.session.scalar(db.select(db.func.count(MailMailbox.id))) == 0
    good = client.post("/admin/mail/mailboxes", data={
        "name": "Support", "address": "Support@Desk.example", "imap_security": "starttls",
        "imap_port": "143", "imap_host": "imap.desk.example", "imap_username": "support",
        "imap_password": "secret", "create_customers": "on", "is_active": "on"})
    assert good.status_code == 303
    box = db.session.scalars(db.select(MailMailbox)).one()
    assert (box.address, box.imap_security, box.imap_port) == ("support@desk.example",
                                                               "starttls", 143)
    edit = client.post(f"/admin/mail/mailboxes/{box.id}", data={
        "name": "Support", "imap_host": "imap.desk.example", "imap_username": "support",
        "imap_security": "ssl", "imap_port": "993", "imap_password": ""})
    assert edit.status_code == 303
    db.session.refresh(box)
    assert box.imap_password == "secret" and not box.is_active  # kept; unchecked
    assert "secret" not in client.get(f"/admin/mail/mailboxes/{box.id}").text


def test_a_connection_test_reports_the_error(client, admin, inbox):
    from kernel.services.uow import unit_of_work

    with unit_of_work():
        inbox.imap_host, inbox.imap_port, inbox.imap_security = "127.0.0.1", 1, "none"
        inbox.imap_username = "x"
    login(client, admin)
    page = client.post(f"/admin/mail/mailboxes/{inbox.id}/test", follow_redirects=True)
    assert "Не удалось подключиться" in page.text


def test_the_quarantine_retry_and_discard(client, admin, take, inbox):
    from kernel.services.uow import unit_of_work
    from plugins.mailchannel.models import MailQuarantine

    take(b"")
    with unit_of_work():
        inbox.ticket_type = "nope"
    take(L.plain())
    with unit_of_work():
        inbox.ticket_type = ""
    login(client, admin)
    page = client.get("/admin/mail/quarantine")
    assert "Не работает принтер" in page.text and "nope" in page.text
    empty, letter = db.session.scalars(db.select(MailQuarantine).order_by(MailQuarantine.id))
    assert client.get(f"/admin/mail/quarantine/{letter.id}/letter.eml").data == letter.raw
    client.post(f"/admin/mail/quarantine/{letter.id}/retry")
    client.post(f"/admin/mail/quarantine/{empty.id}/discard")
    db.session.expire_all()
    assert (letter.status, empty.status) == ("released", "discarded")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 1


def test_agents_review_letters_and_customers_cannot(client, agent, customer_user, take,
                                                    outgoing):
    take(L.plain())
    ack = outgoing(to="ivan@example.ru")[0]
    take(L.reply(ack, sender="boss@example.ru", body="Я начальник Ивана"))
    login(client, customer_user)
    assert client.get("/admin/mail/review").status_code == 404
    client.get("/logout")
    login(client, agent)
    page = client.get("/admin/mail/review")
    assert "Я начальник Ивана" in page.text
    assert client.get("/admin/mail/quarantine").status_code == 403
    from plugins.mailchannel.models import MailReview

    review = db.session.scalars(db.select(MailReview)).one()
    client.post(f"/admin/mail/review/{review.id}/thread")
    message = db.session.scalars(db.select(Message)).one()
    assert not message.internal and "boss@example.ru" in message.body


def test_pages_in_russian(client, admin, inbox, take):
    take(L.plain())
    login(client, admin)
    client.post("/language", data={"locale": "ru"})
    for url in ("/admin/mail/", "/admin/mail/quarantine", "/admin/mail/review",
                f"/admin/mail/mailboxes/{inbox.id}"):
        page = client.get(url, headers={"Accept-Language": "ru"})
        assert page.status_code == 200, url
        assert "Почтовый канал" in page.text or "Карантин" in page.text, url


def test_every_word_of_the_plugin_has_a_russian_translation():
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[3]
    folder = root / "plugins" / "mailchannel" / "translations"
    with open(folder / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {m for _f, _l, m, _c, _x in extract_from_dir(
        str(root), method_map, options_map, keywords={"_": None, "N_": None})}
    with open(folder / "ru" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        ru = {m.id: m.string for m in read_po(fh, locale="ru") if m.id}
    missing = sorted(m for m in found if not ru.get(m))
    assert not missing, missing


def test_agents_find_the_review_queue_in_their_navigation_while_letters_wait(
        client, agent, take, outgoing):
    login(client, agent)
    assert "/admin/mail/review" not in client.get("/agent/").text
    take(L.plain())
    take(L.reply(outgoing(to="ivan@example.ru")[0], sender="boss@example.ru"))
    assert "/admin/mail/review" in client.get("/agent/").text


def test_the_card_shows_agents_the_letter_and_customers_nothing_of_it(client, agent, take):
    from kernel.services import users

    ticket_id = take(L.outlook()).ticket_id
    login(client, agent)
    card = client.get(f"/agent/tickets/{ticket_id}").text
    assert "olga@corp.example" in card and "srcdoc=" in card and "sandbox" in card
    assert "tracker.example" not in card
    client.get("/logout")
    ticket = db.session.get(Ticket, ticket_id)
    buyer = users.create({"email": "olga@corp.example", "password": "buyer-pass-1",
                          "kind": "customer", "customer_id": ticket.customer_id})
    login(client, buyer)
    page = client.get(f"/portal/tickets/{ticket_id}")
    assert page.status_code == 200 and "srcdoc=" not in page.text and ".eml" not in page.text
