"""The plugin's Alembic branch builds exactly the tables its models describe, and
can be removed alone."""

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel.db import db

pytestmark = pytest.mark.plugins("helpdesk", "triggers")


def _ours(diff) -> bool:
    return "triggers_" in repr(diff)


def test_the_migrated_tables_match_the_models(app):
    existing = set(sa.inspect(db.session.connection()).get_table_names())
    assert {"triggers_rules", "triggers_runs", "triggers_timer_fires", "triggers_round_robin",
            "triggers_meta"} <= existing
    context = MigrationContext.configure(db.session.connection(),
                                         opts={"compare_type": True})
    assert [d for d in compare_metadata(context, db.metadata) if _ours(d)] == []


def test_the_branch_downgrades_alone(app):
    db.session.remove()
    flask_migrate.downgrade(revision="triggers@base")
    existing = set(sa.inspect(db.engine).get_table_names())
    assert not any(name.startswith("triggers_") for name in existing)
    assert "tickets" in existing
    flask_migrate.upgrade(revision="heads")
    assert "triggers_rules" in set(sa.inspect(db.engine).get_table_names())
