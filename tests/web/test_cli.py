"""The ``hookdesk`` command line: through Flask's CLI runner on the test database
(SQLite or PostgreSQL), and end to end as an installed command on a fresh
instance folder."""

import importlib.metadata
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kernel.db import db
from kernel.models import Customer, Setting, Ticket, User
from kernel.services import users

HOOKDESK = os.path.join(os.path.dirname(sys.executable), "hookdesk")
VERSION = importlib.metadata.version("hookdesk")


def counts():
    return {model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (User, Customer, Ticket, Setting)}


# -- through the runner (the fixture's database) -------------------------------------------


def test_db_upgrade_on_an_up_to_date_database_changes_nothing(runner):
    before = counts()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is up to date." in result.output  # nothing was created: no "created"
    assert counts() == before


def test_demo_twice_keeps_the_data_without_duplicates(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "admin@example.com" in first.output and "password: admin-demo-1" in first.output
    db.session.expire_all()
    after_first = counts()
    assert after_first["Ticket"] > 0 and after_first["Customer"] >= 3
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert counts() == after_first
    emails = db.session.scalars(db.select(User.email)).all()
    assert len(emails) == len(set(emails))
    assert users.authenticate("agent@example.com", "agent-demo-1") is not None


def test_plugins_lists_helpdesk_as_enabled_with_its_version(runner):
    result = runner.invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:4] == ["plugin", "version", "enabled", "source"]
    helpdesk = next(row.split() for row in rows if row.split()[0] == "helpdesk")
    assert helpdesk[1:4] == [VERSION, "yes", "built-in"]


@pytest.mark.plugins("helpdesk")
def test_plugins_shows_installed_but_disabled_ones(runner):
    result = runner.invoke(args=["plugins"])
    enabled = {row.split()[0]: row.split()[2] for row in result.output.splitlines()[1:]}
    assert enabled["helpdesk"] == "yes"
    assert set(enabled.values()) <= {"yes", "no"}
    assert all(state == "no" for name, state in enabled.items() if name != "helpdesk")


@pytest.mark.plugins("helpdesk")
def test_plugins_describes_disabled_plugins_too_without_loading_them(runner):
    """The example (a third-party distribution) and the built-ins that are not
    enabled: the first paragraph of the module's docstring, read from its source."""
    import sys

    loaded = set(sys.modules)
    result = runner.invoke(args=["plugins"])
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "hookdesk-example Satisfaction ratings: the ticket's customer rates" in \
        rows["example"]
    assert "Real-estate warranty" in rows["warranty"]
    assert "and the average." in rows["example"]  # the whole first paragraph, one line
    assert "plugins.warranty" not in set(sys.modules) - loaded


@pytest.mark.parametrize(("role", "kind", "roles"), [
    ("admin", "agent", ["admin"]), ("agent", "agent", ["agent"]), ("customer", "customer", []),
])
def test_user_create(runner, role, kind, roles):
    result = runner.invoke(args=["user", "create", "--email", "New@Test.Example",
                                 "--password", "new-pass-123", "--role", role,
                                 "--name", "New Person"])
    assert result.exit_code == 0, result.output
    user = users.by_email("new@test.example")
    assert f"Created {role} new@test.example (id {user.id})." in result.output
    assert (user.kind, sorted(r.key for r in user.roles), user.name) == (kind, roles,
                                                                          "New Person")
    assert users.authenticate("new@test.example", "new-pass-123") is user
    assert (user.customer is not None) == (kind == "customer")


def test_user_create_refusals_are_clear_and_create_nothing(runner, agent):
    before = counts()
    taken = runner.invoke(args=["user", "create", "--email", "agent@test.example",
                                "--password", "whatever-123"])
    assert taken.exit_code == 1
    assert "email: A user with e-mail agent@test.example already exists." in taken.output
    short = runner.invoke(args=["user", "create", "--email", "x@test.example",
                                "--password", "short"])
    assert short.exit_code == 1 and "password: At least 8 characters." in short.output
    wizard = runner.invoke(args=["user", "create", "--email", "x@test.example",
                                 "--password", "long-enough-1", "--role", "wizard"])
    assert wizard.exit_code == 2 and "'wizard' is not one of" in wizard.output
    missing = runner.invoke(args=["user", "create", "--password", "long-enough-1"])
    assert missing.exit_code == 2 and "--email" in missing.output
    assert counts() == before


def test_an_unknown_plugin_stops_start_up_naming_it(tmp_path):
    from web.cli import main

    result = CliRunner().invoke(main, ["plugins"], env={
        "HOOKDESK_PLUGINS": "helpdesk, nonexistent",
        "HOOKDESK_INSTANCE_PATH": str(tmp_path),
    })
    assert result.exit_code == 2
    assert "Unknown plugin(s) in HOOKDESK_PLUGINS: nonexistent." in result.output
    assert "helpdesk" in result.output.split("Installed:")[1]  # what could be enabled


# -- the installed command, on a fresh instance folder ----------------------------------------


def run(instance, *args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKDESK_")}
    clean.update(HOOKDESK_INSTANCE_PATH=str(instance), **env)
    return subprocess.run([HOOKDESK, *args], env=clean, capture_output=True, text=True,
                          timeout=120, cwd=str(instance))


def table_counts(path):
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("users", "customers", "customer_phones", "tickets", "messages",
                          "ticket_events")}


@pytest.mark.slow
def test_installed_command_end_to_end(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    upgrade = run(instance, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Migrated kernel: base -> kernel_" in upgrade.stdout  # each branch it applied
    assert "Declarations synced; created" in upgrade.stdout
    database = instance / "hookdesk.db"
    assert database.exists()

    first = run(instance, "demo")
    assert first.returncode == 0, first.stderr
    after_first = table_counts(database)
    assert after_first["tickets"] > 0
    second = run(instance, "demo")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert table_counts(database) == after_first

    plugins = run(instance, "plugins")
    assert plugins.returncode == 0, plugins.stderr
    helpdesk = next(line.split() for line in plugins.stdout.splitlines()
                    if line.startswith("helpdesk "))
    assert helpdesk[1:3] == [VERSION, "yes"]

    made = run(instance, "user", "create", "--email", "boss@x.example", "--password",
               "boss-pass-123", "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert "Created admin boss@x.example" in made.stdout
    assert table_counts(database)["users"] == after_first["users"] + 1

    broken = run(instance, "plugins", HOOKDESK_PLUGINS="nonexistent")
    assert broken.returncode != 0
    assert "nonexistent" in broken.stderr and "Traceback" not in broken.stderr
