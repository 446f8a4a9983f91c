"""The migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL: after ``upgrade heads`` Alembic's autogenerate finds nothing to do
for the kernel's tables."""

import os

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

import kernel.models
from kernel.db import db
from kernel.testing import TEST_DB_ENV


def kernel_tables() -> set[str]:
    names = {mapper.local_table.name for mapper in db.Model.registry.mappers
             if mapper.class_.__module__.startswith("kernel.")}
    names |= {t.name for t in vars(kernel.models).values() if isinstance(t, sa.Table)}
    return names


def table_of(diff) -> str | None:
    """The table a diff entry from ``compare_metadata`` is about."""
    if isinstance(diff, list):  # modify_* entries come grouped per column
        return table_of(diff[0])
    op, *rest = diff
    if op in ("add_table", "remove_table"):
        return rest[0].name
    if op in ("add_index", "remove_index"):
        return rest[0].table.name
    if op in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        return rest[0].table.name
    if op in ("add_column", "remove_column") or op.startswith("modify_"):
        return rest[1]
    return None


def kernel_diffs() -> list:
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                           "compare_server_default": False})
    ours = kernel_tables()
    return [d for d in compare_metadata(context, db.metadata) if table_of(d) in ours]


def up_to_date() -> bool:
    """Every head revision is applied (alembic_version keeps only the newest ones:
    a plugin's revision that depends on a kernel revision stands for both)."""
    config = current_app.extensions["migrate"].migrate.get_config(None)
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(db.session.connection()).get_current_heads()
    applied = {rev.revision for rev in script.iterate_revisions(current, "base")}
    return bool(current) and set(script.get_heads()) <= applied


def test_kernel_tables_are_all_known():
    assert {"tickets", "ticket_events", "messages", "attachments", "customers",
            "customer_phones", "users", "roles", "user_roles", "field_definitions",
            "number_counters", "pipelines", "statuses", "transitions",
            "ticket_types"} <= kernel_tables()


def test_the_migrated_database_matches_the_models(app):
    """The fixture's database was built by ``upgrade heads`` (on either back end)."""
    assert up_to_date()
    existing = set(sa.inspect(db.session.connection()).get_table_names())
    assert kernel_tables() <= existing
    assert kernel_diffs() == []


@pytest.mark.skipif(bool(os.environ.get(TEST_DB_ENV)), reason="a fresh SQLite file only")
def test_upgrade_downgrade_upgrade_on_a_fresh_database(tmp_path):
    from kernel.sync import sync
    from web import create_app

    fresh = create_app({"INSTANCE_PATH": str(tmp_path / "fresh"), "TESTING": True,
                        "HOOKDESK_SECRET_KEY": "x",
                        "HOOKDESK_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"})
    with fresh.app_context():
        try:
            flask_migrate.upgrade(revision="heads")
            assert up_to_date()
            assert kernel_diffs() == []
            db.session.rollback()
            flask_migrate.downgrade(revision="base")
            db.session.rollback()
            # the migration tool's bookkeeping stays (kernel.migration_branches)
            left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version",
                                                                    "alembic_branches"}
            assert left == set()
            flask_migrate.upgrade(revision="heads")
            assert up_to_date()
            assert kernel_diffs() == []
            sync(fresh.extensions["hookdesk"])  # and the declarations can be written
        finally:
            db.session.remove()
            db.engine.dispose()


# -- the ``hookdesk db`` commands tell what they did ----------------------------------------


@pytest.mark.plugins("helpdesk", "example")
def test_revision_of_an_unchanged_model_says_so_and_writes_nothing(app, runner):
    folder = app.extensions["hookdesk"].registry.migrations["example"]
    before = set(os.listdir(folder))
    result = runner.invoke(args=["db", "revision", "--plugin", "example", "-m", "nothing"])
    written = set(os.listdir(folder)) - before
    for name in written:  # never leave a file behind in the example's package
        os.remove(os.path.join(folder, name))
    assert result.exit_code == 0, result.output
    assert "No changes in example's models; no revision written." in result.output
    assert written == set()


@pytest.mark.plugins("helpdesk", "example")
def test_upgrade_after_a_plugin_downgrade_reports_each_branch(app, runner):
    down = runner.invoke(args=["db", "downgrade", "example@base"])
    assert down.exit_code == 0, down.output
    db.session.rollback()
    assert "example_ratings" not in sa.inspect(db.engine).get_table_names()
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert "Migrated example: base -> example_0001" in up.output
    assert "Database is up to date" not in up.output
    assert "kernel:" not in up.output  # only the branch that moved
    assert "example_ratings" in sa.inspect(db.engine).get_table_names()
    again = runner.invoke(args=["db", "upgrade"])
    assert again.output.strip() == "Database is up to date."


def test_a_new_branch_gets_its_labels_id_and_kernel_dependency_written(tmp_path):
    from kernel import hookimpl
    from kernel.testing import build_app

    versions = tmp_path / "probegen_versions"

    class Probe:
        @hookimpl
        def hookdesk_register_migrations(self):
            return str(versions)

    app = build_app(tmp_path, ("helpdesk", "probegen"), plugin_objects={"probegen": Probe()})
    with app.app_context():
        try:
            runner = app.test_cli_runner()
            first = runner.invoke(args=["db", "revision", "--plugin", "probegen", "-m", "things",
                                        "--empty"])
            assert first.exit_code == 0, first.output
            (name,) = os.listdir(versions)
            assert name.endswith("_probegen_0001_things.py") and "Wrote " in first.output
            text = (versions / name).read_text()
            kernel_head = ScriptDirectory.from_config(
                current_app.extensions["migrate"].migrate.get_config(None)
            ).get_revision("kernel@head").revision
            assert "revision = 'probegen_0001'" in text
            assert "down_revision = None" in text
            assert "branch_labels = ('probegen',)" in text
            assert f"depends_on = {kernel_head!r}" in text
            second = runner.invoke(args=["db", "revision", "--plugin", "probegen", "-m", "more",
                                         "--empty"])
            assert second.exit_code == 0, second.output
            (later,) = set(os.listdir(versions)) - {name}
            text = (versions / later).read_text()
            assert "revision = 'probegen_0002'" in text
            assert "down_revision = 'probegen_0001'" in text and "depends_on = None" in text
        finally:
            db.session.remove()
            db.engine.dispose()
