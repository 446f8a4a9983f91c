"""E-mail: templates rendered in the recipient's language and time zone, written
to the outbox in the change's transaction, delivered after commit over real SMTP
on loopback (the ``email`` channel); the transport URL."""

from __future__ import annotations

import logging
import os
import smtplib
from datetime import UTC, datetime

import pytest
from jinja2 import ChoiceLoader, DictLoader

from kernel import mail
from kernel.db import db
from kernel.services import users
from kernel.services.uow import unit_of_work
from web.mail import external_url, render_mail, send_mail
from web.testing import _free_port

TEMPLATES = {
    "mail/probe/hello.ru.txt": (
        '{% extends "mail/layout.txt" %}{% block subject %}Привет, {{ who }}{% endblock %}'
        "{% block body %}Встреча {{ when|localdt }}.{% endblock %}"),
    "mail/probe/hello.en.txt": (
        '{% extends "mail/layout.txt" %}{% block subject %}Hello, {{ who }}{% endblock %}'
        "{% block body %}Meeting {{ when|localdt }}.{% endblock %}"),
    "mail/probe/hello.en.html": (
        '{% extends "mail/layout.html" %}{% block content %}<p>Hi {{ who }}</p>{% endblock %}'),
    "mail/probe/only_words.txt": (
        '{% extends "mail/layout.txt" %}{% block subject %}{{ _("Settings") }}{% endblock %}'
        "{% block body %}{{ _(\"Your settings are saved.\") }}{% endblock %}"),
    "probeplugin/mail/note.txt": (
        '{% extends "mail/layout.txt" %}{% block subject %}Plugin note{% endblock %}'
        "{% block body %}From a plugin's own folder.{% endblock %}"),
    "mail/probe/no_subject.txt": "Just a body",
}

MEETING = datetime(2024, 5, 12, 11, 30, tzinfo=UTC)


@pytest.fixture
def probe_templates(app):
    previous = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), previous])
    app.jinja_env.cache = {}
    yield
    app.jinja_env.loader = previous
    app.jinja_env.cache = {}


def make_user(email, locale, timezone, name="Reader"):
    return users.create({"email": email, "password": "reader-pass-1", "kind": "customer",
                         "name": name, "locale": locale, "timezone": timezone})


def test_a_user_gets_the_letter_in_their_language_and_time_zone(app, mailbox, probe_templates):
    russian = make_user("ru@test.example", "ru", "Asia/Vladivostok", "Иван")
    english = make_user("en@test.example", "en", "Europe/London", "Ann")
    send_mail(russian, "probe/hello", {"who": "Иван", "when": MEETING})
    send_mail(english, "probe/hello", {"who": "Ann", "when": MEETING})
    first, second = mailbox.wait(2)
    assert first["Subject"] == "Привет, Иван"
    assert "Встреча 12 мая 2024\u202fг., 21:30." in mailbox.text(first)  # UTC+10
    assert "Это письмо отправлено автоматически" in mailbox.text(first)
    assert mailbox.html(first) == ""  # no Russian HTML template: text only
    assert first["Content-Language"] == "ru"
    assert second["Subject"] == "Hello, Ann"
    assert "Meeting May 12, 2024, 12:30\u202fPM." in mailbox.text(second)  # BST, UTC+1
    assert "<p>Hi Ann</p>" in mailbox.html(second)
    assert second["To"] == "Ann <en@test.example>"


def test_headers_say_who_sends_and_that_it_is_automatic(app, mailbox, probe_templates):
    app.config["HOOKDESK_MAIL_FROM"] = "Support <help@desk.example>"
    message_id = send_mail("plain@test.example", "probe/hello", {"who": "x", "when": MEETING},
                           locale="en", reply_to="team@desk.example")
    message = mailbox.last
    assert message["From"] == "Support <help@desk.example>"
    assert message["Message-ID"] == message_id and message_id.endswith("@desk.example>")
    assert message["Reply-To"] == "team@desk.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert mailbox.envelopes[-1][1] == ["plain@test.example"]


def test_a_bare_address_falls_back_to_the_default_language(app, mailbox, probe_templates):
    send_mail("someone@test.example", "probe/hello", {"who": "X", "when": MEETING})
    assert mailbox.last["Subject"] == "Привет, X"
    send_mail("someone@test.example", "probe/only_words", locale="en")
    assert mailbox.wait(2)[-1]["Subject"] == "Settings"
    assert "Your settings are saved." in mailbox.text(mailbox.messages[-1])
    send_mail("someone@test.example", "probe/only_words", locale="ru")
    assert mailbox.wait(3)[-1]["Subject"] == "Настройки"


def test_plugins_keep_mail_templates_in_their_own_folder(app, probe_templates):
    rendered = render_mail("probeplugin/note", locale="en")
    assert rendered.subject == "Plugin note" and "plugin's own folder" in rendered.text


def test_a_template_without_subject_or_missing_is_an_error(app, probe_templates):
    with pytest.raises(LookupError, match="subject"):
        render_mail("probe/no_subject")
    with pytest.raises(LookupError, match="mail/probe/missing"):
        render_mail("probe/missing")


def test_sending_waits_for_the_commit_and_a_rollback_sends_nothing(app, mailbox,
                                                                   probe_templates):
    with unit_of_work():
        send_mail("a@test.example", "probe/hello", {"who": "A", "when": MEETING})
        assert mailbox.messages == []
    assert len(mailbox.wait(1)) == 1
    with pytest.raises(RuntimeError), unit_of_work():
        send_mail("b@test.example", "probe/hello", {"who": "B", "when": MEETING})
        raise RuntimeError("the change fails")
    assert mailbox.to("b@test.example") == []


def test_a_server_that_is_down_keeps_the_letter_in_the_outbox_for_a_retry(app, caplog):
    from kernel import outbox
    from kernel.models import OutboxMessage

    app.config["HOOKDESK_MAIL_URL"] = f"smtp://127.0.0.1:{_free_port()}?timeout=2"
    with pytest.raises(outbox.TemporaryFailure):
        mail.send("x@test.example", "s", "t", {"idempotency_key": "k"})
    # Through the outbox the failure is the outbox's business, not the caller's.
    send_mail("x@test.example", "auth/reset_password", {"link": "http://x"}, locale="en")
    (row,) = db.session.scalars(db.select(OutboxMessage)).all()
    assert (row.channel, row.status, row.attempts) == ("email", "pending", 1)
    assert "ConnectionRefused" in row.last_error and row.next_attempt_at > row.created_at


def test_the_message_id_comes_from_the_idempotency_key_and_a_repeat_is_dropped(
        app, mailbox, probe_templates):
    first = send_mail("k@test.example", "probe/hello", {"who": "K", "when": MEETING},
                      key="signup-42")
    again = send_mail("k@test.example", "probe/hello", {"who": "K", "when": MEETING},
                      key="signup-42")
    assert first == again == mail.message_id_for("signup-42")
    assert mailbox.last["Message-ID"] == first
    import time

    time.sleep(0.2)
    assert len(mailbox.messages) == 1


def test_the_email_channel_takes_what_other_plugins_put_in_the_outbox(app, mailbox):
    from kernel import outbox

    with unit_of_work():
        outbox.put("email", "rule@test.example",
                   {"subject": "Rule fired", "body": "Plain words", "locale": "en",
                    "html": "<p>Plain words</p>", "ticket_id": 1}, key="rule-1-x")
    message = mailbox.last
    assert message["Subject"] == "Rule fired" and message["Content-Language"] == "en"
    assert mailbox.text(message).strip() == "Plain words"
    assert "<p>Plain words</p>" in mailbox.html(message)
    assert message["Message-ID"] == mail.message_id_for("rule-1-x")


@pytest.mark.plugins()
def test_auth_letters_need_no_plugin(app, mailbox):
    assert "email" in app.extensions["hookdesk"].registry.notification_channels
    send_mail("bare@test.example", "auth/reset_password", {"link": "http://l"}, locale="en")
    assert mailbox.last["Subject"] == "Reset your Hookdesk password"


def test_a_permanent_refusal_is_logged_and_not_retried(app, mailbox, caplog):
    with caplog.at_level(logging.ERROR, logger="hookdesk.mail"):
        mail.deliver({"to": "reject-me@test.example", "subject": "s", "text": "t"})
    assert "not retried" in caplog.text
    assert mailbox.messages == []


def test_a_permanent_refusal_fails_the_outbox_row_with_the_reason(app, mailbox):
    from kernel.models import OutboxMessage

    send_mail("reject-me@test.example", "auth/reset_password", {"link": "http://x"},
              locale="en")
    (row,) = db.session.scalars(db.select(OutboxMessage)).all()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error and mailbox.messages == []


def test_without_a_mail_url_letters_are_written_to_the_instance_folder(app, caplog):
    app.config["HOOKDESK_MAIL_URL"] = ""
    with caplog.at_level(logging.WARNING, logger="hookdesk.mail"):
        message_id = send_mail("dev@test.example", "auth/reset_password", {"link": "http://l"},
                               locale="en")
    folder = os.path.join(app.instance_path, "mail")
    (name,) = os.listdir(folder)
    assert name == message_id.strip("<>") + ".eml"
    with open(os.path.join(folder, name), "rb") as fh:
        assert b"Reset your Hookdesk password" in fh.read()
    assert "HOOKDESK_MAIL_URL is not set" in caplog.text


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example", dict(host="mail.example", port=25, implicit_tls=False,
                                 starttls=False, username=None)),
    ("smtp://u%40x:p%3Aw@mail.example:587?starttls=true&timeout=5",
     dict(port=587, starttls=True, username="u@x", password="p:w", timeout=5.0)),
    ("smtps://user:secret@mail.example", dict(port=465, implicit_tls=True, verify=True)),
    ("smtps://mail.example:2465?verify=false", dict(port=2465, verify=False)),
])
def test_mail_urls(app, url, expected):
    transport = mail.transport(url)
    assert isinstance(transport, mail.SMTPTransport)
    for key, value in expected.items():
        assert getattr(transport, key) == value, key


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://h?tls=1",
                                 "smtp://h:notaport", "file://"])
def test_bad_mail_urls_are_refused_with_the_reason(app, url):
    with pytest.raises(mail.MailConfigError, match="HOOKDESK_MAIL_URL"):
        mail.transport(url)


def test_file_urls(app, tmp_path):
    transport = mail.transport(f"file://{tmp_path}/out")
    assert transport == mail.FileTransport(f"{tmp_path}/out")


def test_smtp_login_and_starttls_are_used_when_configured(app, monkeypatch):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port, timeout))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user, password))

        def send_message(self, message):
            calls.append(("send", message["To"]))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["HOOKDESK_MAIL_URL"] = "smtp://bot:pw@relay.example:587?starttls=1"
    mail.deliver({"to": "x@test.example", "subject": "s", "text": "t"})
    assert calls == [("connect", "relay.example", 587, 30.0), ("starttls",),
                     ("login", "bot", "pw"), ("send", "x@test.example")]


def test_external_urls_use_the_public_address(app):
    app.config["HOOKDESK_BASE_URL"] = "https://help.example.com/desk/"
    assert external_url("auth.login") == "https://help.example.com/desk/auth/login"
    assert external_url("auth.set_password", token="abc") == (
        "https://help.example.com/desk/auth/password/abc")


def test_the_demos_people_get_no_letters(app, runner, mailbox):
    from kernel import outbox
    from kernel.models import OutboxMessage

    assert runner.invoke(args=["demo"]).exit_code == 0
    with unit_of_work():
        for address in ("customer@example.com", "Agent@Example.com", "real@test.example"):
            outbox.put("email", address, {"subject": "Hello", "body": "Words"},
                       key=f"demo-{address}")
    assert [m["To"] for m in mailbox.wait(1)] == ["real@test.example"]
    # The suppressed rows are done, not waiting for a retry.
    states = set(db.session.scalars(db.select(OutboxMessage.status)
                                    .where(OutboxMessage.key.like("demo-%"))))
    assert states == {"sent"}
