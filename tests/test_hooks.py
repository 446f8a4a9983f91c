"""One test per hook spec, each asserting the hook's effect through the kernel
(Datasette's ``test_plugin_hooks_have_tests``), plus the start-up errors.

Each test registers a small probe plugin object with
``kernel.testing.build_app(tmp_path, plugins, plugin_objects={"probe": obj})``.
``test_every_hook_has_a_test`` fails when a hook spec has no ``test_<hook>``.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import click
import pluggy
import pytest
import sqlalchemy as sa
from flask import Blueprint

from kernel import declarations as d
from kernel import fieldset, hookimpl, hookspecs, permissions
from kernel.db import db
from kernel.errors import (
    NotFound,
    PermissionDenied,
    PluginError,
    TransitionRefused,
    ValidationFailed,
)
from kernel.models import ChoiceList, Pipeline, Role, Ticket, TicketType
from kernel.plugins import PluginHost
from kernel.services import history, messages, tickets, users
from kernel.services import settings as settings_service
from kernel.testing import build_app


@contextmanager
def probe_app(tmp_path, probes: dict, plugins=("helpdesk",), config: dict | None = None):
    """An app with the built-in ``plugins`` and the probe objects enabled, in an
    application context, on a migrated and synced database."""
    app = build_app(tmp_path, (*plugins, *probes), config, plugin_objects=probes)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def host(app):
    return app.extensions["hookdesk"]


def make_agent(email="agent@test.example", roles=("agent",)):
    return users.create({"email": email, "password": "agent-pass-1", "roles": list(roles),
                         "name": email.split("@")[0]})


def make_customer(email="buyer@test.example"):
    return users.create({"email": email, "password": "buyer-pass-1", "kind": "customer",
                         "name": email.split("@")[0]})


def hook_names() -> list[str]:
    pm = pluggy.PluginManager("hookdesk")
    pm.add_hookspecs(hookspecs)
    return sorted(name for name in dir(pm.hook) if name.startswith("hookdesk_"))


# ---------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------

PROBE_PIPELINE = d.PipelineDecl(
    "probe_flow", "Probe flow",
    [d.StatusDecl("open", "Open"), d.StatusDecl("checked", "Checked"),
     d.StatusDecl("done", "Done", "closed_success"), d.StatusDecl("dropped", "Dropped",
                                                                  "closed_failure")],
    transitions=[("open", "checked"), ("checked", "done"), ("open", "dropped")],
)


class FlowProbe:
    """A pipeline and a ticket type using it."""

    @hookimpl
    def hookdesk_register_pipelines(self):
        return [PROBE_PIPELINE]

    @hookimpl
    def hookdesk_register_ticket_types(self):
        return [d.TicketTypeDecl("probe_case", "Probe case", "probe_flow", "checked",
                                 "PC-{seq:03d}", customer_can_create=False, order=5)]


def test_hookdesk_register_ticket_types(tmp_path):
    with probe_app(tmp_path, {"probe": FlowProbe()}) as app:
        assert host(app).registry.ticket_types["probe_case"].plugin == "probe"
        row = db.session.scalar(sa.select(TicketType).where(TicketType.key == "probe_case"))
        assert (row.name, row.plugin, row.initial_status.key) == ("Probe case", "probe", "checked")
        ticket = tickets.create({"subject": "Probe"}, type="probe_case")
        assert ticket.number == "PC-001" and ticket.status.key == "checked"
        assert tickets.create({"subject": "Again"}, type="probe_case").number == "PC-002"
        with pytest.raises(ValidationFailed) as refused:
            tickets.create({"subject": "Mine"}, actor=make_customer(), type="probe_case")
        assert "type" in refused.value.errors


def test_hookdesk_register_pipelines(tmp_path):
    with probe_app(tmp_path, {"probe": FlowProbe()}) as app:
        assert host(app).registry.pipelines["probe_flow"].plugin == "probe"
        pipe = db.session.scalar(sa.select(Pipeline).where(Pipeline.key == "probe_flow"))
        assert [s.key for s in pipe.statuses] == ["open", "checked", "done", "dropped"]
        assert [s.group for s in pipe.statuses][-2:] == ["closed_success", "closed_failure"]
        ticket = tickets.create({"subject": "Flow"}, type="probe_case")
        with pytest.raises(TransitionRefused) as refused:
            tickets.transition(ticket, "dropped")  # only from "open"
        assert "allowed next: done" in refused.value.message
        tickets.transition(ticket, "done")
        assert ticket.is_closed and ticket.closed_at is not None


class FieldProbe:
    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_color", "choice", "Colour", required=True,
                            choices=[("red", "Red"), ("blue", "Blue")], ticket_types=["request"],
                            help_text="Pick one.", shown_to_customer=True,
                            editable_by_customer=True)]


def test_hookdesk_register_fields(tmp_path):
    with probe_app(tmp_path, {"probe": FieldProbe()}):
        ttype = tickets.ticket_type("request")
        field = next(f for f in fieldset.for_type(ttype, "customer") if f.key == "probe_color")
        assert (field.label, field.required, field.plugin) == ("Colour", True, "probe")
        ticket = tickets.create({"subject": "Paint", "probe_color": "red"})
        assert ticket.values["probe_color"] == "red"
        for values in ({"subject": "No colour"}, {"subject": "Purple", "probe_color": "purple"}):
            with pytest.raises(ValidationFailed) as refused:
                tickets.create(values)
            assert list(refused.value.errors) == ["probe_color"]


class ChoiceListProbe:
    @hookimpl
    def hookdesk_register_choice_lists(self):
        return [d.ChoiceListDecl("probe_sizes", "Sizes", [
            d.ChoiceDecl("s", "Small"), d.ChoiceDecl("m", "Medium", group="regular"),
            d.ChoiceDecl("xl", "Extra large", visible=False)])]

    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_size", "choice", "Size", choice_list="probe_sizes")]


def test_hookdesk_register_choice_lists(tmp_path):
    from kernel.services import fields as field_service
    from kernel.sync import sync

    with probe_app(tmp_path, {"probe": ChoiceListProbe()}) as app:
        clist = db.session.scalar(sa.select(ChoiceList).where(ChoiceList.key == "probe_sizes"))
        assert clist.plugin == "probe"
        assert [(i.value, i.label, i.visible) for i in clist.items] == [
            ("s", "Small", True), ("m", "Medium", True), ("xl", "Extra large", False)]
        assert tickets.create({"subject": "Shirt", "probe_size": "m"}).values["probe_size"] == "m"
        with pytest.raises(ValidationFailed):
            tickets.create({"subject": "Hidden item", "probe_size": "xl"})
        field_service.save_choice("probe_sizes", "s", "Tiny")  # the admin renames an item
        sync(host(app))  # a re-sync keeps the admin's edit
        db.session.expire_all()
        assert fieldset.base_choices(
            next(f for f in fieldset.all_fields() if f.key == "probe_size")
        ) == [("s", "Tiny"), ("m", "Medium")]


class OrdersProbe:
    """What the orders plugin will do: a "Successful order" status in the
    helpdesk plugin's pipeline, a field on its "request" type, a queue in the
    kernel's dictionary — and an extension of a pipeline nobody enabled."""

    @hookimpl
    def hookdesk_register_extensions(self):
        return [
            d.PipelineExtension("support", [d.StatusDecl("orders_success", "Successful order",
                                                         "closed_success", "#0d9488")],
                                [("new", "orders_success"), ("in_progress", "orders_success")]),
            d.TicketTypeExtension("request", [d.FieldDecl("orders_number", "text", "Order No.",
                                                          order=40)]),
            d.ChoiceListExtension("queues", [d.ChoiceDecl("orders_shop", "Shop")]),
            d.PipelineExtension("claim", [d.StatusDecl("orders_claimed", "Ordered")]),
        ]


def test_hookdesk_register_extensions(tmp_path):
    from kernel.services import workflow

    with probe_app(tmp_path, {"orders": OrdersProbe()}) as app:
        registry = host(app).registry
        assert [e.plugin for e in registry.extensions] == ["orders"] * 3
        assert registry.skipped == ["Plugin 'orders': skipped its extension of pipeline "
                                    "'claim', which no enabled plugin declares."]
        pipe = workflow.pipeline("support")
        status = pipe.status("orders_success")
        assert (status.name, status.group, status.order) == ("Successful order",
                                                             "closed_success", 5)
        ticket = tickets.create({"subject": "Bought a router", "orders_number": "A-17"})
        assert ticket.type.key == "request" and ticket.values["orders_number"] == "A-17"
        tickets.transition(ticket, "orders_success")
        assert ticket.is_closed and ticket.status.group == "closed_success"
        queues = fieldset.base_choices(next(f for f in fieldset.all_fields() if f.key == "queue"))
        assert queues[-1] == ("orders_shop", "Shop")


class PermissionProbe:
    @hookimpl
    def hookdesk_register_permissions(self):
        return [d.PermissionDecl("probe.launch", "Launch the probe", "Sends it to space.")]

    @hookimpl
    def hookdesk_register_roles(self):
        return [d.RoleDecl("probe_operator", "Probe operator", ["probe.launch", "tickets.view"]),
                d.RoleDecl("agent", "Agent", ["probe.launch"])]


def test_hookdesk_register_permissions(tmp_path):
    with probe_app(tmp_path, {"probe": PermissionProbe()}) as app:
        entry = host(app).registry.permissions["probe.launch"]
        assert (entry.plugin, entry.decl.label) == ("probe", "Launch the probe")
        viewer = make_agent("viewer@test.example", roles=())
        with pytest.raises(PermissionDenied) as denied:
            permissions.require(viewer, "probe.launch")
        assert "Launch the probe" in denied.value.message  # the declared label is shown
        admin = make_agent("admin@test.example", roles=("admin",))
        permissions.require(admin, "probe.launch")


def test_hookdesk_register_roles(tmp_path):
    with probe_app(tmp_path, {"probe": PermissionProbe()}) as app:
        role = db.session.scalar(sa.select(Role).where(Role.key == "probe_operator"))
        assert (role.name, sorted(role.permissions)) == ("Probe operator",
                                                         ["probe.launch", "tickets.view"])
        operator = make_agent("op@test.example", roles=("probe_operator",))
        assert permissions.has(operator, "probe.launch")
        assert not permissions.has(operator, "tickets.edit")
        # A role declared by two plugins (the kernel and the probe) unites their permissions.
        assert sorted(host(app).registry.roles["agent"].decl.permissions).count("probe.launch") == 1
        agent = make_agent()
        assert permissions.has(agent, "probe.launch") and permissions.has(agent, "tickets.view")


class SettingProbe:
    @hookimpl
    def hookdesk_register_settings(self):
        return [d.SettingDecl("probe.limit", "Limit", 7, "number", "How many.")]


def test_hookdesk_register_settings(tmp_path):
    with probe_app(tmp_path, {"probe": SettingProbe()}) as app:
        assert host(app).registry.settings["probe.limit"].plugin == "probe"
        assert settings_service.get("probe.limit") == 7  # the declared default
        settings_service.set("probe.limit", 12)
        assert settings_service.get("probe.limit") == 12
        with pytest.raises(ValidationFailed) as refused:
            settings_service.set("probe.unknown", 1)
        assert "probe.unknown" in refused.value.errors


MIGRATION = '''
"""probemig things"""
import sqlalchemy as sa
from alembic import op

revision = "probemig_0001"
down_revision = None
branch_labels = ("probemig",)
depends_on = "kernel_0001"


def upgrade():
    op.create_table(
        "probemig_things",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
    )


def downgrade():
    op.drop_table("probemig_things")
'''


def test_hookdesk_register_migrations(tmp_path):
    from alembic.script import ScriptDirectory

    versions = tmp_path / "probemig_versions"
    versions.mkdir()
    (versions / "probemig_0001_things.py").write_text(textwrap.dedent(MIGRATION))

    class MigrationProbe:
        @hookimpl
        def hookdesk_register_migrations(self):
            return str(versions)

    with probe_app(tmp_path, {"probemig": MigrationProbe()}) as app:
        assert host(app).registry.migrations["probemig"] == str(versions)
        assert "probemig_things" in sa.inspect(db.engine).get_table_names()
        heads = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        assert "probemig_0001" in heads
        # ``hookdesk db`` commands see the branch beside the kernel's.
        config = app.extensions["migrate"].migrate.get_config(None)
        script = ScriptDirectory.from_config(config)
        assert "probemig_0001" in script.get_heads()
        assert script.get_revision("probemig@head").branch_labels == {"probemig"}


def test_hookdesk_register_translations(tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from web import i18n

    folder = tmp_path / "probe_translations"
    (folder / "ru" / "LC_MESSAGES").mkdir(parents=True)
    catalog = Catalog(locale="ru")
    catalog.add("Probe launched", "Зонд запущен")
    catalog.add("Subject", "Тема зонда")  # the application's own word: its translation stays
    with open(folder / "ru" / "LC_MESSAGES" / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)

    class TranslationProbe:
        @hookimpl
        def hookdesk_register_translations(self):
            return str(folder)

    with probe_app(tmp_path, {"probe": TranslationProbe()}) as app, app.test_request_context():
        with i18n.use("ru"):
            assert i18n.translate_label("Probe launched") == "Зонд запущен"
            assert i18n.translate_label("Subject") == "Тема"
        with i18n.use("en"):
            assert i18n.translate_label("Probe launched") == "Probe launched"


class BlueprintProbe:
    @hookimpl
    def hookdesk_register_blueprints(self):
        bp = Blueprint("probe", __name__, url_prefix="/probe")
        bp.add_url_rule("/ping", "ping", lambda: "pong from probe")
        return [bp]

    @hookimpl
    def hookdesk_init_app(self, app):
        app.config["PROBE_SAW_BLUEPRINTS"] = sorted(app.blueprints)


def test_hookdesk_register_blueprints(tmp_path):
    with probe_app(tmp_path, {"probe": BlueprintProbe()}) as app:
        response = app.test_client().get("/probe/ping")
        assert response.status_code == 200 and response.data == b"pong from probe"


def test_hookdesk_init_app(tmp_path):
    with probe_app(tmp_path, {"probe": BlueprintProbe()}) as app:
        # Called once the kernel's and every plugin's blueprints are registered.
        assert "probe" in app.config["PROBE_SAW_BLUEPRINTS"]
        assert "core" in app.config["PROBE_SAW_BLUEPRINTS"]


class StartupProbe:
    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    @hookimpl
    def hookdesk_startup(self, app):
        self.calls.append(app.name)
        if self.fail:
            self.fail = False
            raise RuntimeError("not yet")
        # After sync: the declarations are in the database.
        app.config["PROBE_TYPES"] = sorted(db.session.scalars(sa.select(TicketType.key)))


def test_hookdesk_startup(tmp_path):
    from web import create_app, startup

    probe = StartupProbe()
    with probe_app(tmp_path, {"probe": probe}) as app:
        assert probe.calls == ["web"] and app.config["PROBE_TYPES"] == ["request"]
        app.test_client().get("/auth/login")
        assert probe.calls == ["web"]  # once per app and process
        assert startup.run(app) is False
        app.extensions.pop("hookdesk_startup")  # as a fresh process would be
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert probe.calls == ["web", "web"]  # at the end of ``hookdesk db upgrade``

    late = StartupProbe(fail=True)
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "HOOKDESK_SECRET_KEY": "x",
              "TESTING": True, "HOOKDESK_PLUGINS": "helpdesk,probe",
              "HOOKDESK_DATABASE_URL": app.config["HOOKDESK_DATABASE_URL"]}
    served = create_app(config, plugin_objects={"probe": late})
    assert late.calls == []  # never by create_app
    client = served.test_client()
    with pytest.raises(RuntimeError):
        client.get("/auth/login")  # the first request runs it; it failed...
    assert client.get("/auth/login").status_code == 200  # ...so the next one tried again
    assert late.calls == ["web", "web"] and startup.has_run(served)
    client.get("/auth/login")
    assert late.calls == ["web", "web"]
    # Threads of one worker racing for the first request: it runs once.
    racing = StartupProbe()
    threaded = create_app(config, plugin_objects={"probe": racing})
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _i: threaded.test_client().get("/auth/login").status_code,
                              range(8)))
    assert codes == [200] * 8 and racing.calls == ["web"]
    for application in (served, threaded):
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@click.command("probe-hello")
@click.argument("name")
def probe_hello(name):
    """Say hello."""
    click.echo(f"Hello, {name}! Tickets: {db.session.scalar(sa.select(sa.func.count(Ticket.id)))}")


class CliProbe:
    @hookimpl
    def hookdesk_register_cli_commands(self):
        return [probe_hello]


def test_hookdesk_register_cli_commands(tmp_path):
    with probe_app(tmp_path, {"probe": CliProbe()}) as app:
        tickets.create({"subject": "Counted"})
        result = app.test_cli_runner().invoke(args=["probe-hello", "world"])
        assert result.exit_code == 0, result.output
        assert result.output == "Hello, world! Tickets: 1\n"


class TriggerProbe:
    @hookimpl
    def hookdesk_register_trigger_conditions(self):
        return [d.TriggerConditionDecl(
            "probe.subject_has", "Subject contains",
            lambda ticket, event, params: params["word"] in ticket.subject,
            params=[d.FieldDecl("word", "text", "Word")])]

    @hookimpl
    def hookdesk_register_trigger_actions(self):
        def note(ticket, event, params, context=None):
            messages.post(ticket, f"Probe saw {event.kind}: {params['text']}", internal=True)

        return [d.TriggerActionDecl("probe.note", "Add a note", note,
                                    params=[d.FieldDecl("text", "text", "Text")])]


def test_hookdesk_register_trigger_conditions(tmp_path):
    with probe_app(tmp_path, {"probe": TriggerProbe()}) as app:
        entry = host(app).registry.trigger_conditions["probe.subject_has"]
        assert entry.plugin == "probe" and [p.key for p in entry.decl.params] == ["word"]
        ticket = tickets.create({"subject": "Printer jam"})
        event = history.for_ticket(ticket)[0]
        assert entry.decl.evaluate(ticket, event, {"word": "jam"}) is True
        assert entry.decl.evaluate(ticket, event, {"word": "fire"}) is False


def test_hookdesk_register_trigger_actions(tmp_path):
    with probe_app(tmp_path, {"probe": TriggerProbe()}) as app:
        entry = host(app).registry.trigger_actions["probe.note"]
        assert entry.plugin == "probe" and entry.decl.side_effect is False
        ticket = tickets.create({"subject": "Printer jam"})
        entry.decl.run(ticket, history.for_ticket(ticket)[0], {"text": "check toner"}, None)
        (note,) = messages.thread(ticket)
        assert note.internal and note.body == "Probe saw created: check toner"


class RuleProbe:
    @hookimpl
    def hookdesk_register_trigger_rules(self):
        return [
            d.TriggerRuleDecl("Probe: note on creation", events=["created"],
                              actions=[{"action": "triggers.add_note",
                                        "params": {"body": "Shipped rule ran"}}]),
            d.TriggerRuleDecl("Probe: broken", events=["created"],
                              actions=[{"action": "probe.nothing", "params": {}}]),
        ]


def test_hookdesk_register_trigger_rules(tmp_path):
    from plugins.triggers import service as rules
    from plugins.triggers import shipped

    with probe_app(tmp_path, {"probe": RuleProbe()}, plugins=("helpdesk", "triggers")) as app:
        (rule,) = rules.all_rules()  # written by the start-up; the broken one skipped
        assert rule.name == "Probe: note on creation" and rule.active
        ticket = tickets.create({"subject": "Printer jam"})
        assert [m.body for m in messages.thread(ticket)] == ["Shipped rule ran"]
        rules.delete(rule)
        assert shipped.install(app) == []  # an admin's deletion stays
        assert rules.all_rules() == []


class EventKindProbe:
    @hookimpl
    def hookdesk_register_event_kinds(self):
        return [d.EventKindDecl("probe.pinged", "Pinged by the probe")]


def test_hookdesk_register_event_kinds(tmp_path):
    with probe_app(tmp_path, {"probe": EventKindProbe()}) as app:
        kinds = host(app).registry.event_kinds
        assert kinds["probe.pinged"].plugin == "probe" and kinds["created"].plugin == "kernel"
        ticket = tickets.create({"subject": "Ping me"})
        event = tickets.record_custom_event(ticket, "probe.pinged", {"n": 1}, via="probe")
        assert (event.kind, event.data, event.via) == ("probe.pinged", {"n": 1}, "probe")
        assert [e.kind for e in history.for_ticket(ticket)] == ["created", "probe.pinged"]
        with pytest.raises(ValidationFailed) as refused:
            tickets.record_custom_event(ticket, "probe.undeclared", {})
        assert "kind" in refused.value.errors


SENT: list = []


class ChannelProbe:
    @hookimpl
    def hookdesk_register_notification_channels(self):
        return [d.NotificationChannelDecl(
            "probe_pigeon", "Carrier pigeon",
            lambda recipient, subject, body, context: SENT.append((recipient, subject, body)))]


def test_hookdesk_register_notification_channels(tmp_path):
    SENT.clear()
    with probe_app(tmp_path, {"probe": ChannelProbe()}) as app:
        entry = host(app).registry.notification_channels["probe_pigeon"]
        assert (entry.plugin, entry.decl.label) == ("probe", "Carrier pigeon")
        entry.decl.send("roof 3", "Hello", "Coo", {})
        assert SENT == [("roof 3", "Hello", "Coo")]


class ReportProbe:
    @hookimpl
    def hookdesk_register_reports(self):
        def build(params=None):
            rows = db.session.execute(
                sa.select(Ticket.queue, sa.func.count()).group_by(Ticket.queue)
                .order_by(Ticket.queue)).all()
            return {"columns": ["queue", "tickets"], "rows": [list(r) for r in rows]}

        return [d.ReportDecl("probe.by_queue", "Tickets by queue", build)]


def test_hookdesk_register_reports(tmp_path):
    with probe_app(tmp_path, {"probe": ReportProbe()}) as app:
        entry = host(app).registry.reports["probe.by_queue"]
        assert entry.plugin == "probe" and entry.decl.permission == "reports.view"
        for queue in ("billing", "billing", "technical"):
            tickets.create({"subject": "Q", "queue": queue})
        assert entry.decl.build({}) == {"columns": ["queue", "tickets"],
                                        "rows": [["billing", 2], ["technical", 1]]}


THINGS = {1: "Boiler", 2: "Heat pump"}


class ReferenceProbe:
    @hookimpl
    def hookdesk_register_reference_entities(self):
        return [d.ReferenceEntityDecl("probe_device", "Device", THINGS.get, str)]

    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_device", "reference", "Device", reference="probe_device")]


def test_hookdesk_register_reference_entities(tmp_path):
    with probe_app(tmp_path, {"probe": ReferenceProbe()}) as app:
        entry = host(app).registry.reference_entities["probe_device"]
        assert entry.plugin == "probe" and entry.decl.display(entry.decl.lookup(2)) == "Heat pump"
        ticket = tickets.create({"subject": "Noise", "probe_device": 2})
        assert ticket.values["probe_device"] == 2
        with pytest.raises(ValidationFailed) as refused:
            tickets.create({"subject": "Ghost", "probe_device": 3})
        assert refused.value.errors == {"probe_device": ["#3 does not exist."]}


class JobProbe:
    done: list = []

    @hookimpl
    def hookdesk_register_jobs(self):
        return [d.JobDecl("probe.count", lambda ticket_id: JobProbe.done.append(
            db.session.get(Ticket, ticket_id).subject))]


def test_hookdesk_register_jobs(tmp_path):
    from kernel import jobs
    from kernel.services.uow import unit_of_work

    JobProbe.done = []
    with probe_app(tmp_path, {"probe": JobProbe()}) as app:
        assert host(app).registry.jobs["probe.count"].plugin == "probe"
        with unit_of_work():
            ticket = tickets.create({"subject": "Queued"})
            jobs.enqueue("probe.count", ticket_id=ticket.id)
            assert JobProbe.done == []  # waits for the commit
        assert JobProbe.done == ["Queued"]


def test_hookdesk_register_api_blueprints(tmp_path):
    from flask_smorest import Blueprint as ApiBlueprint

    class ApiProbe:
        @hookimpl
        def hookdesk_register_api_blueprints(self):
            blp = ApiBlueprint("probe_api", __name__, url_prefix="/probe",
                               description="Probe endpoints.")

            @blp.route("/ping")
            def ping():
                return {"pong": True}

            return [blp]

    with probe_app(tmp_path, {"probe": ApiProbe()}) as app:
        client = app.test_client()
        response = client.get("/api/v1/probe/ping")
        assert response.status_code == 200 and response.get_json() == {"pong": True}
        spec = app.extensions["hookdesk_api"].spec.to_dict()
        assert "/api/v1/probe/ping" in spec["paths"]


# ---------------------------------------------------------------------------
# Life cycle
# ---------------------------------------------------------------------------


class DemoProbe:
    calls: list = []

    @hookimpl
    def hookdesk_load_demo_data(self, ctx):
        ticket = tickets.create({"subject": "Demo from probe", "customer": ctx.customers[0].id},
                                actor=ctx.agent)
        DemoProbe.calls.append((ctx.agent.email, ctx.customer_user.email, ticket.number))


def test_hookdesk_load_demo_data(tmp_path):
    from kernel import demo

    DemoProbe.calls = []
    with probe_app(tmp_path, {"probe": DemoProbe()}) as app:
        demo.load(host(app))
        assert len(DemoProbe.calls) == 1
        assert DemoProbe.calls[0][:2] == ("agent@example.com", "customer@example.com")
        assert db.session.scalar(sa.select(Ticket).where(Ticket.subject == "Demo from probe"))
        demo.load(host(app))  # once per database
        assert len(DemoProbe.calls) == 1


# ---------------------------------------------------------------------------
# Decisions about tickets
# ---------------------------------------------------------------------------


class Classifier:
    def __init__(self, queue, confidence):
        self.queue, self.confidence, self.seen = queue, confidence, []

    @hookimpl
    def hookdesk_classify_ticket(self, ticket_type, values, customer, actor):
        self.seen.append((ticket_type.key, dict(values), customer, actor))
        if "invoice" in values.get("subject", ""):
            return d.Classification({"queue": self.queue, "urgent": True}, self.confidence)
        return None


def test_hookdesk_classify_ticket(tmp_path):
    sure, unsure = Classifier("billing", 90), Classifier("general", 10)
    with probe_app(tmp_path, {"probe_b": sure, "probe": unsure}):
        agent = make_agent()
        ticket = tickets.create({"subject": "Wrong invoice"}, actor=agent)
        assert (ticket.queue, ticket.urgent) == ("billing", True)  # highest confidence wins
        kept = tickets.create({"subject": "Wrong invoice", "queue": "technical"}, actor=agent)
        assert (kept.queue, kept.urgent) == ("technical", True)  # only empty keys are filled
        plain = tickets.create({"subject": "Hello"}, actor=agent)
        assert plain.queue is None
        assert sure.seen[0] == ("request", {"subject": "Wrong invoice"}, None, agent)
        # Equal confidence: the plugin name that sorts first wins, whatever the load order.
        sure.confidence = unsure.confidence = 50
        assert tickets.create({"subject": "invoice"}).queue == "general"


class Validator:
    seen: list = []

    @hookimpl
    def hookdesk_validate_ticket(self, ticket_type, values, ticket, actor):
        Validator.seen.append((ticket_type.key, sorted(values), ticket, actor))
        if "spam" in (values.get("subject") or ""):
            return [("subject", "Looks like spam."), ("text", "Say what happened.")]
        return None


def test_hookdesk_validate_ticket(tmp_path):
    Validator.seen = []
    with probe_app(tmp_path, {"probe": Validator()}):
        with pytest.raises(ValidationFailed) as refused:
            tickets.create({"subject": "Buy spam now"})
        assert refused.value.errors == {"subject": ["Looks like spam."],
                                        "text": ["Say what happened."]}
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0  # nothing written
        ticket = tickets.create({"subject": "Fine", "queue": "general"})
        assert Validator.seen[-1][2] is None  # create: no ticket yet
        with pytest.raises(ValidationFailed):
            tickets.update(ticket, {"subject": "spam again"})
        assert Validator.seen[-1][1:3] == (["subject"], ticket)  # update: only what changed
        db.session.refresh(ticket)
        assert ticket.subject == "Fine"


class TransitionGuard:
    @hookimpl
    def hookdesk_validate_transition(self, ticket, from_status, to_status, actor):
        if to_status.group != "open" and not ticket.text:
            return f"Describe the solution before moving {from_status.key} -> {to_status.key}."
        return None


def test_hookdesk_validate_transition(tmp_path):
    with probe_app(tmp_path, {"probe": TransitionGuard()}):
        ticket = tickets.create({"subject": "Guarded"})
        with pytest.raises(TransitionRefused) as refused:
            tickets.transition(ticket, "resolved")
        assert refused.value.message == "Describe the solution before moving new -> resolved."
        assert ticket.status.key == "new"
        tickets.transition(ticket, "in_progress")  # open -> open: no objection
        tickets.update(ticket, {"text": "Replaced the cable."})
        tickets.transition(ticket, "resolved")
        assert ticket.is_closed


class QueueFilter:
    purposes: list[str] = []

    @hookimpl
    def hookdesk_field_choices(self, field, ticket_type, actor, customer, ticket, purpose):
        if field.key == "queue" and actor is not None and actor.is_customer:
            self.purposes.append(purpose)
            if purpose == "check":  # accepted, to be refused with a message of its own
                return [("general", "G"), ("technical", "T"), ("billing", "B")]
            return [("general", "General"), ("technical", "Technical"), ("nonsense", "X")]
        return None

    @hookimpl
    def hookdesk_validate_ticket(self, values, actor):
        if values.get("queue") == "billing" and actor is not None and actor.is_customer:
            return [("queue", "Billing questions go by phone.")]
        return None


def test_hookdesk_field_choices(tmp_path):
    with probe_app(tmp_path, {"probe": QueueFilter()}):
        customer = make_customer()
        ttype = tickets.ticket_type("request")
        queue = next(f for f in fieldset.for_type(ttype) if f.key == "queue")
        # The intersection of the field's own list and the plugin's answer.
        assert [v for v, _ in fieldset.allowed_choices(queue, ttype, customer,
                                                       customer.customer, None)] == [
            "general", "technical"]
        assert len(fieldset.allowed_choices(queue, ttype, None, None, None)) == 3
        assert QueueFilter.purposes == ["offer"]
        with pytest.raises(ValidationFailed) as refused:
            tickets.create({"subject": "Bill", "queue": "billing"}, actor=customer)
        assert refused.value.errors == {"queue": ["Billing questions go by phone."]}
        assert QueueFilter.purposes[-1] == "check"
        assert tickets.create({"subject": "Bill", "queue": "billing"}).queue == "billing"


class Wall:
    @hookimpl
    def hookdesk_can_view_ticket(self, ticket, user):
        if ticket.urgent and user.email.startswith("junior"):
            return False
        return None


def test_hookdesk_can_view_ticket(tmp_path):
    with probe_app(tmp_path, {"probe": Wall()}):
        junior, senior = make_agent("junior@test.example"), make_agent("senior@test.example")
        customer = make_customer()
        urgent = tickets.create({"subject": "Hot", "urgent": True,
                                 "customer": customer.customer_id})
        calm = tickets.create({"subject": "Calm"})
        with pytest.raises(NotFound):
            tickets.get(urgent.id, viewer=junior)
        assert tickets.get(calm.id, viewer=junior) is calm
        assert tickets.get(urgent.id, viewer=senior) is urgent
        assert tickets.get(urgent.id, viewer=customer) is urgent  # the kernel's rule decides
        with pytest.raises(NotFound):
            messages.post(urgent, "Let me in", actor=junior)


class Zone:
    def __init__(self, zone):
        self.zone = zone

    @hookimpl
    def hookdesk_numbering_variables(self, ticket_type, ticket):
        if ticket_type.key == "request":
            return {"zone": self.zone if ticket.urgent else "Z"}
        return None


def test_hookdesk_numbering_variables(tmp_path):
    from kernel.services import workflow

    with probe_app(tmp_path, {"probe": Zone("U")},
                   config={"HOOKDESK_NUMBERING_VARIABLES": ("zone",)}):
        workflow.set_number_template("request", "{zone}-{seq:03d}")
        assert tickets.create({"subject": "A", "urgent": True}).number == "U-001"
        assert tickets.create({"subject": "B"}).number == "Z-001"  # a counter per prefix
        assert tickets.create({"subject": "C", "urgent": True}).number == "U-002"


def test_numbering_variable_from_two_plugins_is_an_error_naming_both(tmp_path):
    from kernel.services import workflow

    with probe_app(tmp_path, {"probe": Zone("U"), "probe_b": Zone("V")},
                   config={"HOOKDESK_NUMBERING_VARIABLES": ("zone",)}):
        workflow.set_number_template("request", "{zone}-{seq:03d}")
        with pytest.raises(ValidationFailed) as refused:
            tickets.create({"subject": "Clash"})
        message = refused.value.errors["number"][0]
        assert "zone" in message and "given by both probe and probe_b" in message


class ZonedType:
    @hookimpl
    def hookdesk_register_pipelines(self):
        return [PROBE_PIPELINE]

    @hookimpl
    def hookdesk_register_ticket_types(self):
        return [d.TicketTypeDecl("zoned", "Zoned", "probe_flow", number_template="{zone}-{seq}")]

    @hookimpl
    def hookdesk_numbering_variables(self, ticket_type, ticket):
        return {"zone": "Q"} if ticket_type.key == "zoned" else None


def test_declared_type_may_use_a_plugin_numbering_variable(tmp_path):
    with probe_app(tmp_path, {"probe": ZonedType()},
                   config={"HOOKDESK_NUMBERING_VARIABLES": ("zone",)}):
        assert tickets.create({"subject": "Z"}, type="zoned").number == "Q-1"


class Recorder:
    def __init__(self):
        self.seen = []

    @hookimpl
    def hookdesk_event_recorded(self, event, ticket):
        assert db.session().in_transaction()
        self.seen.append((event.kind, ticket.number, event.id is not None))
        if ticket.subject == "boom":
            raise RuntimeError("the probe refuses")
        if event.kind == "created" and ticket.subject == "note me":
            messages.post(ticket, "Noted inside the same change.", internal=True)


def test_hookdesk_event_recorded(tmp_path):
    recorder = Recorder()
    with probe_app(tmp_path, {"probe": recorder}):
        ticket = tickets.create({"subject": "note me"})
        assert recorder.seen[:2] == [("created", ticket.number, True),
                                     ("message_posted", ticket.number, True)]
        assert [m.body for m in messages.thread(ticket)] == ["Noted inside the same change."]
        with pytest.raises(RuntimeError):
            tickets.create({"subject": "boom"})
        db.session.expire_all()
        # Raising aborted the whole change: no ticket, and its number was given back.
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 1
        assert tickets.create({"subject": "after"}).number.endswith("00002")


# ---------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------


class Card:
    def __init__(self, order):
        self.order = order

    @hookimpl
    def hookdesk_ticket_card_panels(self, ticket, viewer):
        if viewer.is_customer:
            return None
        return [d.Panel(f"probe.info{self.order}", f"Info for {viewer.name}", "index.html",
                        {"number": ticket.number}, order=self.order)]

    @hookimpl
    def hookdesk_ticket_card_buttons(self, ticket, viewer):
        if ticket.is_closed:
            return None
        return [d.Button(f"probe.close{self.order}", "Close",
                         f"/probe/{ticket.id}/close", order=self.order)]

    @hookimpl
    def hookdesk_phone_actions(self, phone, viewer, ticket):
        return [d.PhoneAction(f"probe.call{self.order}", "Call", f"tel:{phone}")]

    @hookimpl
    def hookdesk_navigation_items(self, viewer):
        return [d.NavItem(f"probe.nav{self.order}", "Probe", "/probe", order=self.order,
                          permission="probe.secret")]


def _collect(app, hook, **kwargs):
    return [(plugin, item) for plugin, answer in host(app).collect(hook, **kwargs)
            for item in answer]


def test_hookdesk_ticket_card_panels(tmp_path):
    with probe_app(tmp_path, {"probe_b": Card(10), "probe": Card(20)}) as app:
        agent, customer = make_agent(), make_customer()
        ticket = tickets.create({"subject": "Card", "customer": customer.customer_id})
        panels = _collect(app, "hookdesk_ticket_card_panels", ticket=ticket, viewer=agent)
        # All collected, in plugin-name order whatever the load order.
        assert [(p, i.key, i.title, i.context["number"]) for p, i in panels] == [
            ("probe", "probe.info20", "Info for agent", ticket.number),
            ("probe_b", "probe.info10", "Info for agent", ticket.number)]
        assert _collect(app, "hookdesk_ticket_card_panels", ticket=ticket, viewer=customer) == []


SECTION_TEMPLATE = """\
<fieldset class="probe-parts" data-section="{{ section.key }}">
  <legend>Spare parts ({{ hint }}) for {{ ticket_type.key }} by {{ viewer.email }}</legend>
  <input name="probe_parts-name">
  {% for message in errors.get("name", []) %}<p class="field-error">{{ message }}</p>{% endfor %}
</fieldset>
"""


class SectionProbe(FlowProbe):
    """A "spare parts" section on the creation form of requests (not of the probe's
    own type); its template comes from the probe's blueprint."""

    def __init__(self, templates):
        self.templates = str(templates)
        self.asked: list = []
        self.saved: list = []

    @hookimpl
    def hookdesk_register_blueprints(self):
        return [Blueprint("probe", __name__, template_folder=self.templates)]

    @hookimpl
    def hookdesk_ticket_form_sections(self, ticket_type, viewer):
        self.asked.append((ticket_type.key, viewer.email))
        if ticket_type.key != "request":
            return None
        return [d.FormSection("probe_parts", "probe/_parts.html", self.parse, self.save,
                              context={"hint": "one a line"}, order=5)]

    def parse(self, form, files):
        names = [n.strip() for n in form.getlist("probe_parts-name") if n.strip()]
        if "bad" in names:
            raise ValidationFailed({"probe_parts.name": "No bad parts, please."})
        return names

    def save(self, ticket, names, actor):
        from kernel.services.uow import in_unit_of_work

        assert in_unit_of_work() and ticket.id is not None and ticket.number
        # The probe's own write, then maybe a refusal: both go with the ticket's transaction.
        messages.post(ticket, f"Parts: {', '.join(names)}", internal=True)
        if "refused" in names:
            raise ValidationFailed({"probe_parts.name": "The store has no such part."})
        self.saved.append((ticket.number, names, actor.email))


class HomeProbe:
    def __init__(self, folder):
        (folder / "probe").mkdir(parents=True)
        (folder / "probe" / "welcome.html").write_text(
            '<p data-probe="welcome">{{ word }}, {{ viewer.name }}</p>')
        self.folder = str(folder)

    @hookimpl
    def hookdesk_portal_home_panels(self, viewer):
        if not viewer.is_customer:
            return None
        return [d.Panel("probe.welcome", "Welcome", "probe/welcome.html",
                        context={"word": "Hello"}, order=5)]

    @hookimpl
    def hookdesk_register_blueprints(self):
        return [Blueprint("probe", __name__, template_folder=self.folder)]


def test_hookdesk_portal_home_panels(tmp_path):
    from web.testclient import login

    probe = HomeProbe(tmp_path / "templates")
    with probe_app(tmp_path, {"probe": probe}) as app:
        customer = make_customer()
        client = app.test_client()
        login(client, customer)
        html = client.get("/portal/").get_data(as_text=True)
        assert 'data-panel="probe.welcome"' in html and "Hello, buyer" in html


class PrefillProbe:
    def __init__(self, name):
        self.name = name

    @hookimpl
    def hookdesk_ticket_form_prefill(self, ticket_type, viewer):
        # contact_phone disagrees with helpdesk's answer: it is left empty.
        return {"contact_name": viewer.name, "contact_phone": "+7 999 000-00-00",
                "subject": f"{self.name} for {ticket_type.key}", "no_such_field": "x"}


def test_hookdesk_ticket_form_prefill(tmp_path):
    from kernel.services import customers
    from web.testclient import login

    with probe_app(tmp_path, {"probe": PrefillProbe("probe")}) as app:
        customer = make_customer()
        customers.update(customer.customer, {"phones": ["+7 912 345-67-89"]})
        client = app.test_client()
        login(client, customer)
        html = client.get("/portal/new").get_data(as_text=True)
        assert 'value="probe for request"' in html  # the probe's subject
        assert 'name="contact_name"' in html and 'value="buyer"' in html  # both agree
        phone = html.split('name="contact_phone"', 1)[1].split(">", 1)[0]
        assert "value=" not in phone or 'value=""' in phone  # disputed: empty


def test_hookdesk_ticket_form_sections(tmp_path):
    from kernel.models import Message, NumberCounter
    from web.testclient import login

    templates = tmp_path / "probe_templates"
    (templates / "probe").mkdir(parents=True)
    (templates / "probe" / "_parts.html").write_text(SECTION_TEMPLATE)
    probe = SectionProbe(templates)

    def written() -> tuple[int, int, int]:
        """Tickets, messages and the numbers handed out so far."""
        db.session.expire_all()
        return (db.session.scalar(sa.select(sa.func.count(Ticket.id))),
                db.session.scalar(sa.select(sa.func.count(Message.id))),
                db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(NumberCounter.value),
                                                             0))))

    with probe_app(tmp_path, {"probe": probe}) as app:
        customer, agent = make_customer(), make_agent()
        numbers = []
        for user, url in ((customer, "/portal/new"), (agent, "/agent/tickets/new")):
            client = app.test_client()
            login(client, user)
            shown = client.get(url)
            assert shown.status_code == 200
            assert (f"Spare parts (one a line) for request by {user.email}"
                    in shown.get_data(as_text=True))
            assert probe.asked[-1] == ("request", user.email)
            before = written()

            # ``parse`` refuses: 422, the message inside the section, nothing written.
            refused = client.post(url, data={"subject": "Leaking tap",
                                             "probe_parts-name": ["washer", "bad"]})
            assert refused.status_code == 422
            assert ('<p class="field-error">No bad parts, please.</p>'
                    in refused.get_data(as_text=True))
            assert written() == before

            # ``save`` refuses: the ticket, the probe's note and the number roll back.
            refused = client.post(url, data={"subject": "Leaking tap",
                                             "probe_parts-name": "refused"})
            assert refused.status_code == 422
            assert ('<p class="field-error">The store has no such part.</p>'
                    in refused.get_data(as_text=True))
            assert written() == before

            # Accepted: ``save`` gets the created ticket, in the same change.
            created = client.post(url, data={"subject": "Leaking tap",
                                             "probe_parts-name": ["washer", "gasket"]})
            assert created.status_code == 303, created.get_data(as_text=True)
            ticket = db.session.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
            assert created.headers["Location"].endswith(f"/tickets/{ticket.id}")
            assert probe.saved[-1] == (ticket.number, ["washer", "gasket"], user.email)
            assert [m.body for m in messages.thread(ticket)] == ["Parts: washer, gasket"]
            assert written() == (before[0] + 1, before[1] + 1, before[2] + 1)
            numbers.append(ticket.number)
        # No number was lost to the refused attempts.
        assert [n[-5:] for n in numbers] == ["00001", "00002"]

        # A type the plugin has no section for: the form is the type's fields alone.
        client = app.test_client()
        login(client, agent)
        other = client.get("/agent/tickets/new?type=probe_case").get_data(as_text=True)
        assert probe.asked[-1] == ("probe_case", agent.email)
        assert "Spare parts" not in other


def test_hookdesk_ticket_card_buttons(tmp_path):
    with probe_app(tmp_path, {"probe": Card(20), "probe_b": Card(10)}) as app:
        agent = make_agent()
        ticket = tickets.create({"subject": "Card"})
        buttons = _collect(app, "hookdesk_ticket_card_buttons", ticket=ticket, viewer=agent)
        assert sorted((b.order, b.key, b.url) for _p, b in buttons) == [
            (10, "probe.close10", f"/probe/{ticket.id}/close"),
            (20, "probe.close20", f"/probe/{ticket.id}/close")]
        tickets.transition(ticket, "resolved")
        assert _collect(app, "hookdesk_ticket_card_buttons", ticket=ticket, viewer=agent) == []


def test_hookdesk_phone_actions(tmp_path):
    with probe_app(tmp_path, {"probe": Card(1)}) as app:
        agent = make_agent()
        actions = _collect(app, "hookdesk_phone_actions", phone="+79123456789", viewer=agent,
                           ticket=None)
        assert [(p, a.key, a.url) for p, a in actions] == [
            ("probe", "probe.call1", "tel:+79123456789")]


class SnippetProbe:
    """A snippet for agents who may see customers, one for customers, one for nobody."""

    def __init__(self, templates):
        self.templates = str(templates)

    @hookimpl
    def hookdesk_register_blueprints(self):
        return [Blueprint("probe", __name__, template_folder=self.templates)]

    @hookimpl
    def hookdesk_page_snippets(self, viewer):
        return [d.PageSnippet("probe.b_agents", "probe/_snippet.html", {"word": "agents"},
                              permission="customers.view"),
                d.PageSnippet("probe.a_customers", "probe/_snippet.html",
                              {"word": "customers"}, audience="customer"),
                d.PageSnippet("probe.c_secret", "probe/_snippet.html", {"word": "secret"},
                              permission="probe.secret")]


def test_hookdesk_page_snippets(tmp_path):
    from web.testclient import login

    templates = tmp_path / "probe_templates"
    (templates / "probe").mkdir(parents=True)
    (templates / "probe" / "_snippet.html").write_text(
        '<div data-probe-snippet="{{ word }}">{{ viewer.email }}</div>')
    with probe_app(tmp_path, {"probe": SnippetProbe(templates)}) as app:
        agent, customer = make_agent(), make_customer()
        blind = make_agent("blind@test.example", roles=())
        for user, url, shown in ((agent, "/agent/", ["agents"]),
                                 (customer, "/portal/", ["customers"]),
                                 (blind, "/settings/", [])):
            client = app.test_client()
            login(client, user)
            html = client.get(url).get_data(as_text=True)
            found = [w for w in ("agents", "customers", "secret")
                     if f'data-probe-snippet="{w}"' in html]
            assert found == shown, (user.email, html[-600:])
            if shown:
                assert f">{user.email}</div>" in html
                # At the end of the page, before the page's own scripts.
                assert html.index("data-probe-snippet") > html.index("</footer>")
        # Nobody signed in: nothing.
        html = app.test_client().get("/auth/login").get_data(as_text=True)
        assert "data-probe-snippet" not in html


def test_hookdesk_navigation_items(tmp_path):
    from web.navigation import menu_for

    with probe_app(tmp_path, {"probe": Card(3), "probe_b": Card(950)}) as app:
        agent = make_agent()
        items = _collect(app, "hookdesk_navigation_items", viewer=agent)
        assert [(i.key, i.audience, i.permission) for _p, i in items] == [
            ("probe.nav3", "agent", "probe.secret"), ("probe.nav950", "agent", "probe.secret")]
        admin = make_agent("admin@test.example", roles=("admin",))
        with app.test_request_context("/probe/x"):
            # The menu drops entries whose permission the viewer lacks...
            assert not any(e.key.startswith("probe.") for e in menu_for(agent))
            # ...and sorts the rest with the application's own by (order, key).
            menu = menu_for(admin)
        keys = [e.key for e in menu]
        assert keys.index("probe.nav3") < keys.index("probe.nav950")
        assert [e.order for e in menu] == sorted(e.order for e in menu)
        assert next(e for e in menu if e.key == "probe.nav3").active  # the current page


class ColourFilter:
    """A filter of the ticket list over the ``probe_colour`` field of requests."""

    def __init__(self):
        self.clauses: list = []

    @hookimpl
    def hookdesk_register_ticket_filters(self):
        def clause(value):
            self.clauses.append(value)
            return sa.cast(Ticket.values["probe_colour"].as_string(), sa.String) == value

        return [d.TicketFilterDecl("probe.colour", "Colour",
                                   lambda: [("red", "Red"), ("blue", "Blue")], clause,
                                   ticket_types=("request",))]


class FilterProbe(ColourFilter):
    """The filter with the field it reads."""

    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_colour", "choice", "Colour", ticket_types=["request"],
                            choices=[("red", "Red"), ("blue", "Blue")])]


def colour_select(html: str) -> str:
    """The markup of the probe filter's select on the agents' table."""
    start = html.index('<select id="f-probe.colour" name="f.probe.colour">')
    return html[start:html.index("</select>", start)]


def test_hookdesk_register_ticket_filters(tmp_path):
    from kernel.services import tokens
    from web.testclient import login

    probe = FilterProbe()
    with probe_app(tmp_path, {"probe": probe, "probe_flow": FlowProbe()}) as app:
        entry = host(app).registry.ticket_filters["probe.colour"]
        assert (entry.plugin, entry.decl.label) == ("probe", "Colour")
        tickets.create({"subject": "Red one", "probe_colour": "red"})
        tickets.create({"subject": "Blue one", "probe_colour": "blue"})
        agent = make_agent()
        client = app.test_client()
        login(client, agent)

        # The agents' table: a select named f.<key> with the declared choices.
        html = client.get("/agent/").get_data(as_text=True)
        assert 'value="red"' in colour_select(html) and 'value="blue"' in colour_select(html)
        assert "Red one" in html and "Blue one" in html
        html = client.get("/agent/?f.probe.colour=red").get_data(as_text=True)
        assert '<option value="red" selected>' in colour_select(html)
        assert "Red one" in html and "Blue one" not in html
        assert probe.clauses == ["red"]
        # A value outside the choices, or an unknown filter, is ignored — never a 500.
        for query in ("f.probe.colour=green", "f.probe.nope=red"):
            response = client.get(f"/agent/?{query}")
            assert response.status_code == 200, query
            html = response.get_data(as_text=True)
            assert "Red one" in html and "Blue one" in html
            assert "selected" not in colour_select(html)
        assert probe.clauses == ["red"]  # no clause was asked for "green"
        # A type the filter does not apply to: no select.
        html = client.get("/agent/?type=probe_case").get_data(as_text=True)
        assert 'name="f.probe.colour"' not in html

        # The API: filter=key:value; an unknown key or value is 422 naming the filter.
        _row, secret = tokens.create(agent, "probe")
        headers = {"Authorization": f"Bearer {secret}"}
        found = client.get("/api/v1/tickets?filter=probe.colour:blue", headers=headers)
        assert found.status_code == 200
        assert [t["subject"] for t in found.get_json()["items"]] == ["Blue one"]
        for query, key in (("probe.colour:green", "filter.probe.colour"),
                           ("probe.nope:red", "filter.probe.nope"),
                           ("probe.colour", "filter")):
            refused = client.get(f"/api/v1/tickets?filter={query}", headers=headers)
            assert refused.status_code == 422, query
            assert list(refused.get_json()["errors"]) == [key]
        listed = client.get("/api/v1/ticket-filters", headers=headers)
        assert listed.status_code == 200
        assert listed.get_json() == [{
            "key": "probe.colour", "label": "Colour", "ticket_types": ["request"],
            "choices": [{"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}]}]

    # One filter key from two plugins stops start-up naming both.
    with pytest.raises(PluginError) as failed:
        PluginHost(["probe_a", "probe_b"], extra={"probe_a": ColourFilter(),
                                                  "probe_b": ColourFilter()})
    message = str(failed.value)
    assert "'probe.colour'" in message and "'probe_a'" in message and "'probe_b'" in message
    assert "hookdesk_register_ticket_filters" in message


# ---------------------------------------------------------------------------
# Start-up: a plugin that cannot load or clashes stops the application.
# ---------------------------------------------------------------------------


def test_unknown_plugin_name_stops_start_up():
    with pytest.raises(PluginError) as failed:
        PluginHost(["helpdesk", "no_such_plugin"])
    assert "no_such_plugin" in str(failed.value)
    assert "helpdesk" in str(failed.value)  # the installed ones are listed


def test_unknown_plugin_stops_create_app(tmp_path):
    from web import create_app

    with pytest.raises(PluginError, match="no_such_plugin"):
        create_app({"INSTANCE_PATH": str(tmp_path), "HOOKDESK_PLUGINS": "helpdesk,no_such_plugin",
                    "HOOKDESK_SECRET_KEY": "x"})


class Misspelt:
    @hookimpl
    def hookdesk_register_feilds(self):  # sic
        return []


def test_misspelt_hook_is_an_error_naming_it():
    with pytest.raises(PluginError) as failed:
        PluginHost(["helpdesk", "probe"], extra={"probe": Misspelt()})
    assert "hookdesk_register_feilds" in str(failed.value)
    assert "'probe'" in str(failed.value)


class WrongArgument:
    @hookimpl
    def hookdesk_validate_ticket(self, ticket_type, valuez):
        return None


def test_hook_with_an_unknown_argument_is_an_error():
    with pytest.raises(PluginError) as failed:
        PluginHost(["probe"], extra={"probe": WrongArgument()})
    assert "'probe'" in str(failed.value) and "valuez" in str(failed.value)


class FieldA:
    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_dup", "text", "From A")]


class FieldB:
    @hookimpl
    def hookdesk_register_fields(self):
        return [d.FieldDecl("probe_dup", "text", "From B")]


def test_duplicate_key_from_two_plugins_names_both():
    with pytest.raises(PluginError) as failed:
        PluginHost(["probe_a", "probe_b"], extra={"probe_a": FieldA(), "probe_b": FieldB()})
    message = str(failed.value)
    assert "'probe_dup'" in message and "'probe_a'" in message and "'probe_b'" in message
    assert "hookdesk_register_fields" in message


def test_duplicate_key_overriding_a_builtin_is_refused():
    class Shadow:
        @hookimpl
        def hookdesk_register_permissions(self):
            return [d.PermissionDecl("tickets.view", "Mine now")]

    with pytest.raises(PluginError, match="'kernel' and 'probe'"):
        PluginHost(["probe"], extra={"probe": Shadow()})


def test_wrong_declaration_type_is_refused():
    class Wrong:
        @hookimpl
        def hookdesk_register_event_kinds(self):
            return [d.PermissionDecl("probe.x", "Not an event kind")]

    with pytest.raises(PluginError, match="expected EventKindDecl"):
        PluginHost(["probe"], extra={"probe": Wrong()})


def test_ticket_type_with_an_undeclared_pipeline_is_refused():
    class Orphan:
        @hookimpl
        def hookdesk_register_ticket_types(self):
            return [d.TicketTypeDecl("orphan", "Orphan", "nowhere")]

    with pytest.raises(PluginError, match="'nowhere'"):
        PluginHost(["probe"], extra={"probe": Orphan()})


def test_cli_command_name_taken_twice_is_an_error(tmp_path):
    from web import create_app

    with pytest.raises(PluginError, match="'probe-hello'"):
        create_app({"INSTANCE_PATH": str(tmp_path), "HOOKDESK_PLUGINS": "probe,probe_b",
                    "HOOKDESK_SECRET_KEY": "x"},
                   plugin_objects={"probe": CliProbe(), "probe_b": CliProbe()})


def test_plugin_that_fails_to_import_stops_start_up(monkeypatch):
    import importlib.metadata as md

    from kernel import plugins

    broken = md.EntryPoint("broken", "hookdesk_no_such_module:plugin", plugins.ENTRY_POINT_GROUP)
    real = md.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == plugins.ENTRY_POINT_GROUP:
            found.append(broken)
        return found

    monkeypatch.setattr(md, "entry_points", entry_points)
    with pytest.raises(PluginError) as failed:
        PluginHost(["broken"])
    assert "'broken'" in str(failed.value) and "hookdesk_no_such_module" in str(failed.value)


def test_results_do_not_depend_on_load_order():
    one = PluginHost(["probe", "probe_b"], extra={"probe": Card(1), "probe_b": Card(2)})
    two = PluginHost(["probe_b", "probe"], extra={"probe": Card(1), "probe_b": Card(2)})
    for host_ in (one, two):
        answers = host_.collect("hookdesk_phone_actions", phone="+1", viewer=None, ticket=None)
        assert [name for name, _a in answers] == ["probe", "probe_b"]


# ---------------------------------------------------------------------------
# Meta
# ---------------------------------------------------------------------------


class KeepsAFile:
    digest = ""

    @hookimpl
    def hookdesk_blob_references(self):
        return [self.digest]


def test_hookdesk_blob_references(tmp_path):
    import io
    import os
    import time

    from kernel.services import attachments

    probe = KeepsAFile()
    with probe_app(tmp_path, {"probe": probe}) as app:
        store = attachments.store()
        ticket = tickets.create({"subject": "Files"})
        attached = attachments.attach(ticket, io.BytesIO(b"attached"), filename="a.txt")
        probe.digest = store.put(io.BytesIO(b"a floor plan")).sha256
        orphan = store.put(io.BytesIO(b"nobody refers to me")).sha256
        young = store.put(io.BytesIO(b"an upload still in flight")).sha256
        leftover = os.path.join(store.root, ".upload-crashed")
        with open(leftover, "wb") as fh:
            fh.write(b"half")
        old = time.time() - 3 * 24 * 3600
        for path in (store.path(attached.sha256), store.path(probe.digest), store.path(orphan),
                     leftover):
            os.utime(path, (old, old))

        looked = attachments.collect_garbage(dry_run=True)
        assert (looked.removed, looked.kept, looked.young) == (2, 2, 1)
        assert store.exists(orphan) and os.path.exists(leftover)

        result = app.test_cli_runner().invoke(args=["attachments", "gc"])
        assert result.exit_code == 0, result.output
        assert "2 file(s)" in result.output
        assert not store.exists(orphan) and not os.path.exists(leftover)
        assert store.exists(attached.sha256) and store.exists(probe.digest)
        assert store.exists(young)  # newer than the grace period
        probe.digest = ""  # the plugin lets go of its file: the next clean-up takes it
        attachments.collect_garbage(timedelta(0))
        assert not store.exists(young) and store.exists(attached.sha256)


def test_hookdesk_describe_plugin(app, client, admin):
    """Each built-in plugin names itself in both languages; the admin screens use it."""
    from web.testing import login

    described = dict(app.extensions["hookdesk"].collect("hookdesk_describe_plugin"))
    assert described["warranty"].title == "Warranty claims"
    login(client, admin)
    client.post("/language", data={"lang": "ru", "next": "/admin/plugins"})
    html = client.get("/admin/plugins").get_data(as_text=True)
    assert "Гарантийные обращения" in html and "Обработка звонков автосервиса" in html
    settings_page = client.get("/admin/settings").get_data(as_text=True)
    assert "<h2>Телефония</h2>" in settings_page or "<h2>SMS</h2>" in settings_page


def test_every_hook_has_a_test():
    module = sys.modules[__name__]
    tests = {name for name, obj in inspect.getmembers(module, inspect.isfunction)
             if name.startswith("test_")}
    missing = [hook for hook in hook_names() if f"test_{hook}" not in tests]
    assert missing == [], f"Hooks without a test_<hook> in tests/test_hooks.py: {missing}"
    source = inspect.getsource(module)
    assert all(source.count(hook) >= 2 for hook in hook_names())


class AfterCommit:
    def __init__(self):
        self.seen = []

    @hookimpl
    def hookdesk_event_committed(self, event, ticket, state):
        from kernel.services.uow import in_unit_of_work

        assert in_unit_of_work()  # the worker's own unit of work, not the change's
        self.seen.append((event.kind, ticket.number, state["status_id"], ticket.status_id))


def test_hookdesk_event_committed(tmp_path):
    from kernel.models import OutboxMessage
    from kernel.services.uow import unit_of_work

    probe = AfterCommit()
    with probe_app(tmp_path, {"probe": probe}):
        ticket = tickets.create({"subject": "after commit"})
        created_status = ticket.status_id
        # The in-memory test queue runs the worker's job right after the commit.
        assert probe.seen == [("created", ticket.number, created_status, created_status)]
        with pytest.raises(RuntimeError), unit_of_work():
            tickets.create({"subject": "rolled back"})
            raise RuntimeError("undo")
        assert len(probe.seen) == 1  # a rolled-back change leaves no work
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
