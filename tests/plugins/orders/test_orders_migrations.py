"""The plugin's Alembic branch builds exactly the tables its models describe, and
can be removed alone."""

import re

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel.db import db

pytestmark = pytest.mark.plugins("helpdesk", "triggers", "orders")


def _ours(diff) -> bool:
    # Our tables' names start with "orders_" (not "...work_orders_" of another plugin).
    return re.search(r"\borders_", repr(diff)) is not None


def test_the_migrated_tables_match_the_models(app):
    existing = set(sa.inspect(db.session.connection()).get_table_names())
    assert {"orders_documents", "orders_links", "orders_notes", "orders_type_config",
            "orders_form_hits"} <= existing
    context = MigrationContext.configure(db.session.connection(),
                                         opts={"compare_type": True})
    assert [d for d in compare_metadata(context, db.metadata) if _ours(d)] == []


def test_the_branch_downgrades_alone(app):
    db.session.remove()
    flask_migrate.downgrade(revision="orders@base")
    existing = set(sa.inspect(db.engine).get_table_names())
    assert not any(name.startswith("orders_") for name in existing)
    assert "tickets" in existing
    flask_migrate.upgrade(revision="heads")
    assert "orders_notes" in set(sa.inspect(db.engine).get_table_names())


@pytest.mark.plugins("orders")
def test_the_plugin_works_alone(app, agent, customer_user):
    """Without the helpdesk (its lead status skipped) and without triggers."""
    from plugins.orders import service

    assert any("support" in why for why in app.extensions["hookdesk"].registry.skipped)
    request = service.submit_request({"details": "A bike"}, actor=customer_user)
    order = service.convert(request, "orders_delivery", actor=agent)
    assert service.matching_leads(order, agent) == []
