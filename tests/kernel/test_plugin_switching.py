"""A plugin switched off keeps its tables and data while the rest upgrades; switched
on again it upgrades too; ``hookdesk db drop-plugin`` removes its tables for good.
On SQLite, or on the PostgreSQL database of ``HOOKDESK_TEST_DATABASE_URL``."""


import pytest
import sqlalchemy as sa

from kernel import testing
from kernel.migration_branches import BRANCHES_TABLE


@pytest.fixture
def database(tmp_path):
    url = testing.test_database_url()  # this worker's own database under xdist
    if url:
        testing._reset_postgres(url)
        testing._templates.pop("pg", None)  # the next test's app builds its schema again
    yield url or f"sqlite:///{tmp_path}/switch.db"
    if url:
        testing._reset_postgres(url)
        testing._templates.pop("pg", None)


def hookdesk(tmp_path, url, plugins, *args, input=None):
    """Run ``hookdesk ARGS`` with ``HOOKDESK_PLUGINS=plugins`` on the database."""
    from kernel.db import db
    from web import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                      "HOOKDESK_SECRET_KEY": "x", "HOOKDESK_QUEUE_URL": "memory://",
                      "HOOKDESK_DATABASE_URL": url, "HOOKDESK_PLUGINS": plugins})
    try:
        return app.test_cli_runner().invoke(args=list(args), input=input)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def query(url, sql):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            return conn.exec_driver_sql(sql).all() if sql.lstrip().upper().startswith(
                "SELECT") else conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def tables(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_enable_disable_upgrade_enable(tmp_path, database):
    up = hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "upgrade", "--no-sync")
    assert up.exit_code == 0, up.output
    query(database, "INSERT INTO webhooks_endpoints (url, events, secret, description, "
                    "is_active, created_at) VALUES ('https://hooks.example/x', '[]', 's', "
                    "'kept', true, CURRENT_TIMESTAMP)")

    off = hookdesk(tmp_path, database, "helpdesk", "db", "upgrade", "--no-sync")
    assert off.exit_code == 0, off.output
    assert "Can't locate" not in off.output
    assert query(database, "SELECT description FROM webhooks_endpoints") == [("kept",)]
    versions = {r[0] for r in query(database, "SELECT version_num FROM alembic_version")}
    assert versions and all(v.startswith("kernel_") for v in versions)
    again = hookdesk(tmp_path, database, "helpdesk", "db", "upgrade", "--no-sync")
    assert again.exit_code == 0 and "Database is up to date." in again.output

    on = hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "upgrade", "--no-sync")
    assert on.exit_code == 0, on.output
    versions = {r[0] for r in query(database, "SELECT version_num FROM alembic_version")}
    assert "webhooks_0001" in versions
    assert query(database, "SELECT description FROM webhooks_endpoints") == [("kept",)]


def test_a_plugin_enabled_only_after_the_kernel_head_it_absorbed(tmp_path, database):
    """The plugin's row stood for the kernel's too (it depends on the kernel's head
    of the time): switched off, the kernel's revision is still known."""
    first = hookdesk(tmp_path, database, "helpdesk", "db", "upgrade", "--revision",
                     "kernel_0003", "--no-sync")
    assert first.exit_code == 0, first.output
    hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "upgrade", "--revision",
             "webhooks@head", "--no-sync")
    assert query(database, "SELECT version_num FROM alembic_version") == [("webhooks_0001",)]
    off = hookdesk(tmp_path, database, "helpdesk", "db", "upgrade", "--no-sync")
    assert off.exit_code == 0, off.output
    assert "Migrated kernel: kernel_0003 -> kernel_" in off.output


def test_drop_plugin_asks_then_removes_its_tables(tmp_path, database):
    hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "upgrade", "--no-sync")
    enabled = hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "drop-plugin",
                       "webhooks", "--yes")
    assert enabled.exit_code != 0 and "remove it from HOOKDESK_PLUGINS" in enabled.output
    wrong = hookdesk(tmp_path, database, "helpdesk", "db", "drop-plugin", "webhooks",
                     input="webhook\n")
    assert wrong.exit_code != 0 and "nothing was dropped" in wrong.output
    assert "webhooks_endpoints" in tables(database)

    dropped = hookdesk(tmp_path, database, "helpdesk", "db", "drop-plugin", "webhooks",
                       input="webhooks\n")
    assert dropped.exit_code == 0, dropped.output
    assert "webhooks_endpoints" in dropped.output
    assert "webhooks_endpoints" not in tables(database)
    assert ("webhooks",) not in query(database, f"SELECT label FROM {BRANCHES_TABLE}")
    back = hookdesk(tmp_path, database, "helpdesk,webhooks", "db", "upgrade", "--no-sync")
    assert back.exit_code == 0 and "Migrated webhooks: base -> webhooks_0001" in back.output
    assert "webhooks_endpoints" in tables(database)
