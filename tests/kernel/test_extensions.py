"""Extensions (``hookdesk_register_extensions``): what a plugin adds to another
plugin's declarations is checked at start-up, written once by the sync, keeps
the admin's edits, is skipped with a warning when its target is not enabled,
and never depends on the order plugins were loaded in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel import declarations as d
from kernel import fieldset, hookimpl
from kernel.db import db
from kernel.errors import PluginError
from kernel.models import FieldDefinition, Transition
from kernel.plugins import PluginHost
from kernel.services import fields as field_service
from kernel.services import tickets, workflow
from kernel.sync import sync
from kernel.testing import build_app

SUCCESS = d.StatusDecl("orders_success", "Successful order", "closed_success")


class Orders:
    """The orders plugin's case: "Successful order" in the helpdesk's pipeline."""

    @hookimpl
    def hookdesk_register_extensions(self):
        return [
            d.PipelineExtension("support", [SUCCESS], [("new", "orders_success"),
                                                       ("in_progress", "orders_success"),
                                                       ("orders_success", "in_progress")]),
            d.TicketTypeExtension("request", [d.FieldDecl("orders_number", "text", "Order No.",
                                                          shown_in_list=True)]),
            d.ChoiceListExtension("campaigns", [d.ChoiceDecl("orders_site", "Web shop")]),
        ]


class Crm:
    """A second plugin extending the same pipeline and list, and a missing type."""

    @hookimpl
    def hookdesk_register_extensions(self):
        return [
            d.PipelineExtension("support", [d.StatusDecl("crm_lead", "Lead")],
                                [("crm_lead", "new"), ("crm_lead", "orders_success")]),
            d.ChoiceListExtension("campaigns", [d.ChoiceDecl("crm_call", "Cold call"),
                                                d.ChoiceDecl("crm_mail", "Mailing")]),
            d.TicketTypeExtension("claim", [d.FieldDecl("crm_score", "number", "Score")]),
        ]


def snapshot():
    pipe = workflow.pipeline("support")
    keys = {s.id: s.key for s in pipe.statuses}
    clist = field_service.choice_list("campaigns")
    fields = db.session.scalars(sa.select(FieldDefinition).where(
        FieldDefinition.key.in_(["orders_number", "crm_score"]))).all()
    return {
        "statuses": [(s.key, s.order, s.group) for s in pipe.statuses],
        "transitions": sorted((keys[t.from_status_id], keys[t.to_status_id])
                              for t in pipe.transitions),
        "items": [(i.value, i.order) for i in clist.items],
        "fields": sorted((f.key, f.plugin, tuple(f.ticket_types)) for f in fields),
    }


@pytest.fixture
def built(tmp_path):
    apps = []

    def build(order, objects=None, name="one"):
        objects = objects or {"orders": Orders(), "crm": Crm()}
        app = build_app(tmp_path / name, order, plugin_objects=objects)
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_result_does_not_depend_on_plugin_order(built):
    results = []
    for name, order in (("one", ("helpdesk", "orders", "crm")),
                        ("two", ("crm", "orders", "helpdesk"))):
        app = built(order, name=name)
        with app.app_context():
            reg = app.extensions["hookdesk"].registry
            # Sorted by (kind, target, plugin): lists, pipelines, types.
            assert [(type(e.decl).__name__[:6], e.plugin) for e in reg.extensions] == [
                ("Choice", "crm"), ("Choice", "orders"), ("Pipeli", "crm"),
                ("Pipeli", "orders"), ("Ticket", "orders")]
            results.append((snapshot(), reg.skipped,
                            [s.key for s in reg.effective_pipeline("support").statuses]))
    assert results[0] == results[1]
    state, skipped, effective = results[0]
    assert state["statuses"][-2:] == [("crm_lead", 5, "open"),
                                      ("orders_success", 6, "closed_success")]
    assert effective[-2:] == ["crm_lead", "orders_success"]
    assert {("crm_lead", "orders_success"), ("new", "orders_success"),
            ("orders_success", "in_progress")} <= set(state["transitions"])
    assert [v for v, _o in state["items"]][-3:] == ["crm_call", "crm_mail", "orders_site"]
    assert state["fields"] == [("orders_number", "orders", ("request",))]  # crm_score: skipped
    assert skipped == ["Plugin 'crm': skipped its extension of ticket type 'claim', which no "
                       "enabled plugin declares."]


def test_the_successful_order_status_closes_a_request(built):
    app = built(("helpdesk", "orders"), {"orders": Orders()})
    with app.app_context():
        ticket = tickets.create({"subject": "Router", "orders_number": "A-1"})
        tickets.transition(ticket, "in_progress")
        tickets.transition(ticket, "orders_success")
        assert ticket.is_closed and ticket.closed_at is not None
        assert ticket.status.name == "Successful order"
        field = next(f for f in fieldset.for_type(ticket.type) if f.key == "orders_number")
        assert (field.plugin, field.shown_in_list) == ("orders", True)


def test_a_resync_keeps_the_admins_edits(built):
    app = built(("helpdesk", "orders", "crm"))
    with app.app_context():
        host = app.extensions["hookdesk"]
        workflow.update_status("support", "orders_success", {"name": "Sold"})
        workflow.set_transition("support", "new", "orders_success", False)
        workflow.reorder_statuses("support", ["orders_success", "new", "in_progress", "waiting",
                                              "resolved", "rejected", "crm_lead"])
        field_service.save_choice("campaigns", "orders_site", "Our shop", visible=False)
        field_service.override("orders_number", {"label": "Order"})
        before = snapshot()
        assert sync(host)["statuses"] == 0
        db.session.expire_all()
        assert snapshot() == before
        pipe = workflow.pipeline("support")
        assert pipe.status("orders_success").name == "Sold"
        assert not pipe.allows(pipe.status("new"), pipe.status("orders_success"))
        item = next(i for i in field_service.choice_list("campaigns").items
                    if i.value == "orders_site")
        assert (item.label, item.visible) == ("Our shop", False)
        assert field_service.definition("orders_number").overrides == {"label": "Order"}
        count = db.session.scalar(sa.select(sa.func.count(Transition.id)))
        sync(host)
        assert db.session.scalar(sa.select(sa.func.count(Transition.id))) == count


def test_db_upgrade_shows_what_it_skipped(built):
    app = built(("helpdesk", "orders", "crm"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        # On stderr (click's result.output has both streams).
        assert ("Warning: Plugin 'crm': skipped its extension of ticket type 'claim', which no "
                "enabled plugin declares.") in result.stderr


class Plain:
    def __init__(self, *extensions):
        self.extensions = list(extensions)

    @hookimpl
    def hookdesk_register_extensions(self):
        return self.extensions


@pytest.mark.parametrize(("extension", "message"), [
    (d.PipelineExtension("support", [d.StatusDecl("won", "Won")]),
     "keys a plugin adds to another's declarations start with 'probe_'"),
    (d.PipelineExtension("support", [d.StatusDecl("probe_x", "X", "closed")]),
     "unknown group 'closed'"),
    (d.PipelineExtension("support", [], [("new", "probe_nowhere")]),
     "transition 'new' -> 'probe_nowhere' to pipeline 'support' between unknown statuses"),
    (d.TicketTypeExtension("request", [d.FieldDecl("colour", "text", "Colour")]),
     "adds field 'colour'"),
    (d.TicketTypeExtension("request", [d.FieldDecl("probe_c", "colour", "Colour")]),
     "unknown type 'colour'"),
    (d.ChoiceListExtension("queues", [d.ChoiceDecl("vip", "VIP")]), "adds item 'vip'"),
    (d.PermissionDecl("probe.x", "X"), "expected PipelineExtension"),
])
def test_a_bad_extension_stops_start_up_naming_the_plugin(extension, message):
    with pytest.raises(PluginError) as failed:
        PluginHost(["helpdesk", "probe"], extra={"probe": Plain(extension)})
    assert message in str(failed.value) and "'probe'" in str(failed.value)


def test_a_key_added_by_two_plugins_names_both():
    # "probe_b_won" is in the namespace of both "probe" and "probe_b".
    twice = d.PipelineExtension("support", [d.StatusDecl("probe_b_won", "Won")])
    with pytest.raises(PluginError) as failed:
        PluginHost(["helpdesk", "probe", "probe_b"],
                   extra={"probe": Plain(twice), "probe_b": Plain(twice)})
    assert "'probe_b_won'" in str(failed.value)
    assert "'probe'" in str(failed.value) and "'probe_b'" in str(failed.value)

    class Declares:
        @hookimpl
        def hookdesk_register_fields(self):
            return [d.FieldDecl("probe_b_colour", "text", "Colour")]

    field = d.TicketTypeExtension("request", [d.FieldDecl("probe_b_colour", "text", "Colour")])
    with pytest.raises(PluginError, match="'probe_b_colour' is declared by both 'probe' and "
                                          "'probe_b'"):
        PluginHost(["helpdesk", "probe", "probe_b"],
                   extra={"probe": Declares(), "probe_b": Plain(field)})


def test_a_field_added_to_two_types_is_shown_on_both():
    flow = d.PipelineDecl("probe_flow", "Flow", [d.StatusDecl("open", "Open")])

    class TwoTypes(Plain):
        @hookimpl
        def hookdesk_register_pipelines(self):
            return [flow]

        @hookimpl
        def hookdesk_register_ticket_types(self):
            return [d.TicketTypeDecl("probe_case", "Case", "probe_flow")]

    score = d.FieldDecl("probe_score", "number", "Score")
    host = PluginHost(["helpdesk", "probe"], extra={"probe": TwoTypes(
        d.TicketTypeExtension("request", [score]), d.TicketTypeExtension("probe_case", [score]))})
    assert host.registry.fields["probe_score"].decl.ticket_types == ("probe_case", "request")
