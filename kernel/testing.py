"""pytest fixtures for Hookdesk and its plugins (a pytest plugin, entry point
``pytest11: hookdesk``), in the style of Flask's tutorial.

* ``app`` — a Hookdesk app on a migrated database with the plugins' declarations
  synced (extensions too) and ``hookdesk_startup`` run. Choose plugins per test
  with ``@pytest.mark.plugins("helpdesk", "mine")``; without the mark every
  built-in plugin is enabled.
* ``client`` / ``runner`` — Flask's test client and CLI runner for ``app``.
* ``agent``, ``admin``, ``customer_user`` — users; ``make_ticket`` — a factory.
* ``@pytest.mark.app_config(NAME=value, ...)`` — extra config for the test's app.
  Rate limits (``HOOKDESK_RATELIMIT_*``) are set too high to meet unless a test
  sets its own.

The database is SQLite in a temporary folder, or the PostgreSQL database named by
``HOOKDESK_TEST_DATABASE_URL``. Migrations run once per session per plugin set;
each test then starts from empty tables. Under pytest-xdist (``-n 2``) each worker
gets a database of its own beside that one (``<name>_gw0``, ``<name>_gw1``...),
created on first use.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

TEST_DB_ENV = "HOOKDESK_TEST_DATABASE_URL"
_templates: dict[tuple[str, ...], str] = {}
_worker_urls: dict[str, str] = {}


def test_database_url() -> str | None:
    """The PostgreSQL URL this test process uses, or None for SQLite. Parallel
    workers must not empty each other's tables, so each gets its own database."""
    url = os.environ.get(TEST_DB_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    if url not in _worker_urls:
        import sqlalchemy as sa

        base = sa.engine.make_url(url)
        name = f"{base.database}_{worker}"
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        _worker_urls[url] = base.set(database=name).render_as_string(hide_password=False)
    return _worker_urls[url]


def pytest_configure(config):
    config.addinivalue_line("markers", "plugins(*names): plugins the test's app enables")
    config.addinivalue_line("markers", "app_config(**options): extra config for the app")


def _plugin_names(request) -> tuple[str, ...] | None:
    marker = request.node.get_closest_marker("plugins")
    return tuple(marker.args) if marker is not None else None


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def _truncate_all(app) -> None:
    """Empty every table and restart the ids. ``DELETE`` (children first) rather
    than ``TRUNCATE``: on the few rows a test leaves it takes ~20 ms where
    ``TRUNCATE`` of every table takes 100-400 ms, the bulk of a test's setup."""
    from kernel.db import db

    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        existing = set(db.inspect(db.engine).get_table_names())
        names = [t for t in reversed(tables) if t in existing]
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t}"' for t in names))
            sequences = conn.exec_driver_sql(
                "SELECT quote_ident(sequence_name) FROM information_schema.sequences "
                "WHERE sequence_schema = current_schema()"
            ).scalars().all()
            if sequences:
                conn.exec_driver_sql("; ".join(f"ALTER SEQUENCE {s} RESTART" for s in sequences))


def build_app(tmp_path, plugins: tuple[str, ...] | None, extra_config: dict | None = None,
              plugin_objects: dict | None = None):
    """A migrated, synced app. Reused by the fixtures and by benchmarks."""
    import flask_migrate

    from kernel.sync import sync
    from web import create_app
    from web.ratelimit import RULES

    instance = os.path.join(str(tmp_path), "instance")
    os.makedirs(instance, exist_ok=True)
    pg_url = test_database_url()
    key = tuple(sorted(plugins)) if plugins is not None else ("*builtin*",)
    if plugin_objects:
        key = (*key, "*objects*")
    config: dict[str, Any] = {
        "INSTANCE_PATH": instance,
        "TESTING": True,
        "HOOKDESK_SECRET_KEY": "test-secret",
        "HOOKDESK_RAISE_SIGNAL_ERRORS": True,
        "HOOKDESK_QUEUE_URL": "memory://",
        # Strong password hashing costs ~0.1 s a user: far too slow for fixtures.
        "HOOKDESK_PASSWORD_HASH": "pbkdf2:sha256:1000",
        # Tests log in again and again from one address: limits too high to meet.
        # A test of the limits sets low ones: @pytest.mark.app_config(HOOKDESK_RATELIMIT_...).
        **{option: "100000 per minute" for option in RULES.values()},
    }
    if plugins is not None:
        config["HOOKDESK_PLUGINS"] = ",".join(plugins)
    if pg_url:
        config["HOOKDESK_DATABASE_URL"] = pg_url
        # Tests need no durability against a server crash: commits need not wait
        # for the disk (every service call commits).
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, "connect_args": {"options": "-c synchronous_commit=off"},
        }
    else:
        config["HOOKDESK_DATABASE_URL"] = "sqlite:///" + os.path.join(instance, "test.db")
    config.update(extra_config or {})
    app = create_app(config, plugin_objects=plugin_objects)
    if pg_url:
        if _templates.get("pg") != repr(key):
            _reset_postgres(pg_url)
            with app.app_context():
                flask_migrate.upgrade(revision="heads")
            _templates["pg"] = repr(key)
        else:
            _truncate_all(app)
    else:
        # Test plugin objects may declare different things under one name: their
        # declarations are synced per test, not baked into the template.
        cache_sync = not plugin_objects
        template = _templates.get(repr(key))
        target = os.path.join(instance, "test.db")
        if template and os.path.exists(template):
            shutil.copyfile(template, target)
            synced = cache_sync
        else:
            with app.app_context():
                flask_migrate.upgrade(revision="heads")
                if cache_sync:
                    sync(app.extensions["hookdesk"])
                from kernel.db import db

                db.session.remove()
                db.engine.dispose()
            synced = cache_sync
            # Disposing the engine closed the last connection, which folds the WAL
            # into the main file: the file alone is a complete copy.
            name = f"template-{len(_templates)}.db"
            template = os.path.join(os.path.dirname(str(tmp_path)), name)
            shutil.copyfile(target, template)
            _templates[repr(key)] = template
        if synced:
            return _started(app)
    with app.app_context():
        sync(app.extensions["hookdesk"])
    return _started(app)


def _started(app):
    """As a served app after ``hookdesk db upgrade``: ``hookdesk_startup`` has run."""
    from web import startup

    startup.run(app)
    return app


@pytest.fixture
def app(request, tmp_path) -> Iterator[Any]:
    marker = request.node.get_closest_marker("app_config")
    extra = dict(marker.kwargs) if marker else {}
    application = build_app(tmp_path, _plugin_names(request), extra)
    with application.app_context():
        yield application
        from kernel.db import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(app):
    from kernel.services import users

    return users.create({"email": "admin@test.example", "password": "admin-pass-1",
                         "roles": ["admin"], "name": "Admin"})


@pytest.fixture
def agent(app):
    from kernel.services import users

    return users.create({"email": "agent@test.example", "password": "agent-pass-1",
                         "roles": ["agent"], "name": "Agent"})


@pytest.fixture
def customer_user(app):
    from kernel.services import users

    return users.create({"email": "buyer@test.example", "password": "buyer-pass-1",
                         "kind": "customer", "name": "Buyer"})


@pytest.fixture
def make_ticket(app):
    """``make_ticket(actor=None, type=None, **values)`` through the service layer."""
    from kernel.services import tickets

    def make(actor=None, type=None, **values):
        values.setdefault("subject", "Test ticket")
        return tickets.create(values, actor=actor, type=type)

    return make
