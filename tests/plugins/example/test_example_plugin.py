"""The example third-party plugin (docs/examples/hookdesk-example), end to end:
installed as its own distribution, found through its entry point, migrated on
its own Alembic branch, and exercised through services, pages, the CLI, the
trigger catalogue, the card panel and the demo data."""

import pytest
import sqlalchemy as sa
from flask import render_template

from kernel import fieldset, permissions
from kernel.db import db
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import Message, TicketEvent
from kernel.plugins import discover
from kernel.services import history, messages, tickets, users
from web.testclient import login

pytestmark = pytest.mark.plugins("helpdesk", "example")


@pytest.fixture
def ratings():
    from hookdesk_example import ratings

    return ratings


@pytest.fixture
def ticket(make_ticket, agent, customer_user):
    return make_ticket(actor=agent, subject="Router keeps rebooting",
                       customer=customer_user.customer_id)


@pytest.fixture
def other_customer(app):
    return users.create({"email": "other@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other Buyer"})


def host(app):
    return app.extensions["hookdesk"]


# -- discovery and migrations ---------------------------------------------------


def test_found_through_its_entry_point_as_a_third_party_plugin(app):
    info = discover()["example"]
    assert info.distribution == "hookdesk-example"
    assert info.value == "hookdesk_example"
    assert not info.builtin
    assert host(app).is_enabled("example")
    assert host(app).infos["example"].description.startswith("Satisfaction ratings")


def test_its_migration_branch_is_applied(app):
    assert "example_ratings" in sa.inspect(db.engine).get_table_names()
    versions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    assert "example_0001" in versions
    path = host(app).registry.migrations["example"]
    assert path.replace("\\", "/").endswith("hookdesk_example/migrations/versions")


def test_model_and_migration_agree(app):
    """Nothing left for ``hookdesk db revision --plugin example`` to generate."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, db.metadata)

    def table_of(diff):
        item = diff[0] if isinstance(diff, list) else diff  # modify_* come in lists
        kind, obj = item[0], item[1]
        if kind.startswith("modify_") and kind != "modify_table_comment" or kind in (
            "add_column", "remove_column"
        ):
            return item[2]
        return obj.name if kind.endswith("_table") or kind == "modify_table_comment" \
            else obj.table.name

    assert [d for d in diffs if table_of(d).startswith("example_")] == []


# -- the service: who may rate, validation, the timeline ------------------------------


def test_customer_rates_own_ticket_and_the_event_is_on_the_timeline(app, ticket, customer_user,
                                                                   ratings):
    rating = ratings.rate(ticket, 4, "  Quick and polite.  ", actor=customer_user)
    assert (rating.score, rating.comment, rating.author_id) == (4, "Quick and polite.",
                                                                customer_user.id)
    event = history.for_ticket(ticket)[-1]
    assert event.kind == "example.rated"
    assert event.actor_id == customer_user.id
    assert event.data == {"score": 4, "previous": None, "comment": "Quick and polite."}

    again = ratings.rate(ticket, "2", actor=customer_user)  # a form sends text
    assert again.id == rating.id and again.score == 2 and again.comment == ""
    assert history.for_ticket(ticket)[-1].data["previous"] == 4
    assert ratings.summary() == {"count": 1, "average": 2.0,
                                 "by_score": {1: 0, 2: 1, 3: 0, 4: 0, 5: 0}}


@pytest.mark.parametrize("bad", [0, 6, -1, "abc", "", "  ", 4.5, "4.5", True, None, [5]])
def test_bad_score_is_refused_naming_the_field(app, ticket, customer_user, ratings, bad):
    events_before = len(history.for_ticket(ticket))
    with pytest.raises(ValidationFailed) as failed:
        ratings.rate(ticket, bad, actor=customer_user)
    assert list(failed.value.errors) == ["score"]
    assert "score" in failed.value.message
    assert ratings.rating_of(ticket) is None
    assert len(history.for_ticket(ticket)) == events_before


def test_too_long_comment_is_refused(app, ticket, customer_user, ratings):
    with pytest.raises(ValidationFailed) as failed:
        ratings.rate(ticket, 5, "x" * 2001, actor=customer_user)
    assert "comment" in failed.value.errors
    assert ratings.rating_of(ticket) is None


def test_customer_of_another_ticket_cannot_rate_it(app, ticket, other_customer, ratings):
    with pytest.raises(NotFound):
        ratings.rate(ticket, 1, "Not mine, but anyway", actor=other_customer)
    assert ratings.rating_of(ticket) is None


def test_agents_do_not_rate_for_the_customer(app, ticket, agent, ratings):
    with pytest.raises(PermissionDenied):
        ratings.rate(ticket, 5, actor=agent)
    with pytest.raises(PermissionDenied):
        ratings.rate(ticket, 5, actor=None)
    assert ratings.rating_of(ticket) is None


def test_a_failed_event_rolls_the_rating_back(app, ticket, customer_user, ratings, monkeypatch):
    """The rating and its event are one unit of work."""
    def boom(*args, **kwargs):
        raise RuntimeError("timeline unavailable")

    monkeypatch.setattr(tickets, "record_custom_event", boom)
    with pytest.raises(RuntimeError):
        ratings.rate(ticket, 3, actor=customer_user)
    db.session.expire_all()
    assert ratings.rating_of(ticket) is None


# -- the blueprint --------------------------------------------------------------------


def test_customer_rates_through_the_page(app, client, ticket, customer_user, ratings):
    url = f"/example/tickets/{ticket.id}/rate"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "login" in anonymous.headers["Location"]
    login(client, customer_user)
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="score"' in page.data and ticket.number.encode() in page.data
    assert b'name="csrf_token"' in page.data

    refused = client.post(url, data={"score": "9", "comment": "great"})
    assert refused.status_code == 422
    assert 'class="field-error">Выберите целое число от 1 до 5.' in refused.get_data(True)
    assert b"great" in refused.data  # what the customer typed is kept
    assert ratings.rating_of(ticket) is None

    saved = client.post(url, data={"score": "5", "comment": "Fixed in an hour"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{url}?saved=1")
    thanks = client.get(saved.headers["Location"])
    assert "Спасибо! Ваша оценка сохранена." in thanks.get_data(True)  # the customer's language
    db.session.expire_all()
    rating = ratings.rating_of(ticket)
    assert (rating.score, rating.comment) == (5, "Fixed in an hour")
    assert history.for_ticket(ticket)[-1].via == "web"


def test_the_page_hides_other_customers_tickets(app, client, ticket, other_customer, ratings):
    login(client, other_customer)
    assert client.get(f"/example/tickets/{ticket.id}/rate").status_code == 404
    assert client.post(f"/example/tickets/{ticket.id}/rate",
                       data={"score": "1"}).status_code == 404
    assert client.get("/example/tickets/999999/rate").status_code == 404
    assert ratings.rating_of(ticket) is None


def test_agents_see_the_ratings_list(app, client, ticket, agent, customer_user, ratings):
    login(client, agent)
    empty = client.get("/example/ratings")
    assert empty.status_code == 200 and "Оценок пока нет" in empty.get_data(True)
    ratings.rate(ticket, 3, "Okay", actor=customer_user)
    page = client.get("/example/ratings")
    assert page.status_code == 200
    assert ticket.number.encode() in page.data
    assert b"3.00" in page.data and b"Okay" in page.data
    # An agent may look at the rating but not give it.
    card = client.get(f"/example/tickets/{ticket.id}/rate")
    assert card.status_code == 200 and b'name="score"' not in card.data
    assert client.post(f"/example/tickets/{ticket.id}/rate",
                       data={"score": "5"}).status_code == 403


def test_customers_cannot_see_the_ratings_list(app, client, customer_user):
    login(client, customer_user)
    assert client.get("/example/ratings").status_code == 403


def test_permission_is_declared_and_granted_to_agents(app, agent, customer_user, ratings):
    entry = host(app).registry.permissions["example.view_ratings"]
    assert entry.plugin == "example"
    assert permissions.has(agent, "example.view_ratings")  # the agent role was extended
    assert permissions.has(agent, "tickets.view")  # ...and kept the kernel's permissions
    assert not permissions.has(customer_user, "example.view_ratings")


# -- CLI, triggers, field, panel, demo ----------------------------------------------


def test_cli_report(app, runner, ticket, customer_user, ratings):
    result = runner.invoke(args=["example-report"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "No ratings."
    ratings.rate(ticket, 4, actor=customer_user)
    result = runner.invoke(args=["example-report", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "Ratings in the last 7 days: 1, average score: 4.00 / 5" in result.output
    assert "  4:    1 ####################" in result.output
    assert runner.invoke(args=["example-report", "--days", "0"]).exit_code == 2


def test_trigger_action_flags_a_low_rating_with_an_internal_note(app, ticket, agent,
                                                                  customer_user, ratings):
    registry = host(app).registry
    action = registry.trigger_actions["example.flag_low_rating"].decl
    condition = registry.trigger_conditions["example.rating_below"].decl
    ratings.rate(ticket, 1, "Nobody called back", actor=customer_user)
    event = history.for_ticket(ticket)[-1]
    assert condition.evaluate(ticket, event, {}) is True
    action.run(ticket, event, {}, None)
    note = messages.thread(ticket, viewer=agent)[-1]
    assert note.internal and note.author_kind == "system"
    # In the deployment's language (HOOKDESK_DEFAULT_LOCALE, "ru" by default).
    assert note.body == ("Низкая оценка удовлетворённости: 1/5. Клиент написал: «Nobody called "
                         "back». Пожалуйста, перезвоните клиенту.")
    assert messages.thread(ticket, viewer=customer_user) == []  # internal: not for the customer
    assert history.for_ticket(ticket)[-1].kind == "message_posted"


def test_trigger_action_leaves_good_ratings_alone(app, ticket, customer_user, ratings):
    registry = host(app).registry
    action = registry.trigger_actions["example.flag_low_rating"].decl
    condition = registry.trigger_conditions["example.rating_below"].decl
    ratings.rate(ticket, 4, actor=customer_user)
    event = history.for_ticket(ticket)[-1]
    assert condition.evaluate(ticket, event, {}) is False
    assert condition.evaluate(ticket, event, {"threshold": 4}) is True
    action.run(ticket, event, {}, None)
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0
    action.run(ticket, event, {"threshold": "4"}, None)
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 1


def test_ask_for_rating_respects_the_opt_out_field(app, agent, customer_user, make_ticket):
    action = host(app).registry.trigger_actions["example.ask_for_rating"].decl
    asked = make_ticket(actor=agent, customer=customer_user.customer_id)
    opted_out = make_ticket(actor=agent, customer=customer_user.customer_id,
                            example_no_survey=True)
    for ticket in (asked, opted_out):
        action.run(ticket, history.for_ticket(ticket)[-1], {}, None)
    thread = messages.thread(asked, viewer=customer_user)
    assert len(thread) == 1 and not thread[0].internal
    assert thread[0].body.startswith("Как мы справились?")  # the customer's language
    assert thread[0].body.endswith(f"/example/tickets/{asked.id}/rate")
    users.update_preferences(customer_user, {"locale": "en"}, actor=customer_user)
    english = make_ticket(actor=agent, customer=customer_user.customer_id)
    action.run(english, history.for_ticket(english)[-1], {}, None)
    assert messages.thread(english, viewer=customer_user)[0].body.startswith(
        "How did we do? Please rate this ticket: ")
    assert messages.thread(opted_out, viewer=customer_user) == []


def test_field_is_declared_synced_and_editable_by_the_customer(app, customer_user):
    ttype = tickets.ticket_type("request")
    field = next(f for f in fieldset.for_type(ttype, "customer") if f.key == "example_no_survey")
    assert (field.type, field.plugin) == ("flag", "example")
    ticket = tickets.create({"subject": "Invoice", "example_no_survey": "true"},
                            actor=customer_user)
    assert ticket.values["example_no_survey"] is True


def test_the_field_is_on_the_request_form_only(app, make_ticket):
    """Added by an extension to the helpdesk's "request" type (not every type)."""
    from kernel.services import workflow

    field = next(f for f in fieldset.all_fields() if f.key == "example_no_survey")
    assert field.ticket_types == ("request",)
    workflow.create_pipeline("other_flow", "Other", [{"key": "open", "name": "Open"}])
    other = workflow.create_type("other", "Other", "other_flow")
    assert "example_no_survey" not in [f.key for f in fieldset.for_type(other)]


def test_its_status_is_added_to_the_helpdesk_pipeline(app):
    from kernel.services import workflow

    pipe = workflow.pipeline("support")
    status = pipe.status("example_awaiting_rating")
    assert (status.name, status.group, status.order) == ("Awaiting rating", "closed_success", 5)
    assert pipe.allows(pipe.status("resolved"), status)
    assert pipe.allows(status, pipe.status("resolved"))
    assert host(app).registry.skipped == []


def test_asking_moves_a_resolved_ticket_to_awaiting_rating_and_rating_moves_it_back(
        app, ticket, agent, customer_user, ratings):
    action = host(app).registry.trigger_actions["example.ask_for_rating"].decl
    tickets.transition(ticket, "resolved", actor=agent)
    action.run(ticket, history.for_ticket(ticket)[-1], {}, None)
    assert ticket.status.key == "example_awaiting_rating" and ticket.is_closed
    action.run(ticket, history.for_ticket(ticket)[-1], {}, None)  # asked already: no 2nd message
    assert len(messages.thread(ticket, viewer=customer_user)) == 1
    ratings.rate(ticket, 5, actor=customer_user)
    assert ticket.status.key == "resolved"
    event = history.for_ticket(ticket)[-1]
    assert (event.kind, event.via, event.actor_id) == ("status_changed", "example", None)


@pytest.mark.plugins("example")
def test_without_the_helpdesk_plugin_its_extensions_are_skipped(app, runner):
    assert host(app).registry.skipped == [
        "Plugin 'example': skipped its extension of pipeline 'support', which no enabled "
        "plugin declares.",
        "Plugin 'example': skipped its extension of ticket type 'request', which no enabled "
        "plugin declares.",
    ]
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "Database is up to date." in result.output
    assert "Warning: Plugin 'example': skipped its extension of pipeline 'support'" in \
        result.stderr
    assert "example_no_survey" not in [f.key for f in fieldset.all_fields()]


def test_ticket_card_panel_renders_the_form_for_the_customer_only(app, ticket, agent,
                                                                  customer_user,
                                                                  other_customer, ratings):
    def panels(viewer):
        return [p for _name, answer in host(app).collect(
            "hookdesk_ticket_card_panels", ticket=ticket, viewer=viewer) for p in answer]

    (panel,) = panels(customer_user)
    assert (panel.key, panel.template, panel.placement) == ("example.rating",
                                                            "example/panel.html", "side")
    with app.test_request_context():
        html = render_template(panel.template, **panel.context)
    assert 'name="score"' in html and f"/example/tickets/{ticket.id}/rate" in html
    assert panels(other_customer) == []

    ratings.rate(ticket, 2, "Slow", actor=customer_user)
    (panel,) = panels(agent)
    with app.test_request_context():
        html = render_template(panel.template, **panel.context)
    assert "2/5" in html and "Slow" in html and 'name="score"' not in html


def test_event_kind_and_navigation_item(app, agent, customer_user):
    kind = host(app).registry.event_kinds["example.rated"]
    assert kind.plugin == "example"
    items = [i for _n, answer in host(app).collect("hookdesk_navigation_items", viewer=agent)
             for i in answer]
    assert [(i.key, i.url, i.permission) for i in items] == [
        ("example.ratings", "/example/ratings", "example.view_ratings")]


def test_report_declaration(app, ticket, customer_user, ratings):
    report = host(app).registry.reports["example.satisfaction"].decl
    ratings.rate(ticket, 5, actor=customer_user)
    data = report.build({})
    assert data["columns"] == ["score", "ratings"]
    assert data["rows"][-1] == [5, 1] and data["average"] == 5.0
    assert report.permission == "example.view_ratings"


def test_demo_data_rates_a_ticket_once(app, ratings):
    from hookdesk_example.models import Rating

    from kernel import demo

    demo.load(host(app))
    rows = db.session.scalars(sa.select(Rating)).all()
    assert len(rows) == 1 and rows[0].score == 5
    assert db.session.scalar(
        sa.select(sa.func.count()).where(TicketEvent.kind == "example.rated")) == 1
    demo.load(host(app))  # loaded once per database
    assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 1


def test_signal_receiver_asks_for_a_rating_when_the_ticket_closes(app, ticket, agent,
                                                                   customer_user):
    from kernel.services import settings

    tickets.transition(ticket, "resolved", actor=agent)
    assert messages.thread(ticket, viewer=customer_user) == []  # the setting is off
    tickets.transition(ticket, "in_progress", actor=agent)
    settings.set("example.ask_on_close", True)
    tickets.transition(ticket, "resolved", actor=agent)
    (asked,) = messages.thread(ticket, viewer=customer_user)
    assert f"/example/tickets/{ticket.id}/rate" in asked.body
    assert ticket.status.key == "example_awaiting_rating"


def test_pages_speak_english_too(app, client, ticket, customer_user):
    users.update_preferences(customer_user, {"locale": "en"}, actor=customer_user)
    login(client, customer_user)
    page = client.get(f"/example/tickets/{ticket.id}/rate").get_data(True)
    assert "How satisfied are you with how we handled this ticket?" in page
    assert "Send rating" in page


def test_translations_are_registered_and_compiled(app):
    """The .mo shipped beside the .po says the same (run pybabel compile after editing)."""
    import os

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    from web import i18n

    (folder,) = [path for name, path in host(app).collect("hookdesk_register_translations")
                 if name == "example"]
    base = os.path.join(folder, "ru", "LC_MESSAGES")
    with open(os.path.join(base, "messages.po"), "rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with open(os.path.join(base, "messages.mo"), "rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert po == mo and all(po.values())
    with app.test_request_context(), i18n.use("ru"):
        assert i18n.translate_label("See satisfaction ratings") == "Видеть оценки удовлетворённости"
