"""The Flask application: the kernel and the enabled plugins assembled.

``create_app(config)`` follows Flask's tutorial: extensions are created unbound
and initialised here.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from kernel.db import db
from kernel.plugins import PluginHost, parse_enabled

migrate = Migrate()


def create_app(config: dict[str, Any] | None = None, plugin_objects: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment; ``plugin_objects``
    registers extra plugin objects by name (tests only)."""
    from web import config as web_config

    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get(
        "HOOKDESK_INSTANCE_PATH"
    ) or os.path.join(os.getcwd(), "instance")
    app = Flask(__name__, instance_path=os.path.abspath(instance_path))
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(web_config.from_environment(app.instance_path, config))
    app.config.update(
        SECRET_KEY=app.config["HOOKDESK_SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=app.config["HOOKDESK_DATABASE_URL"],
        SQLALCHEMY_ECHO=app.config["HOOKDESK_SQL_ECHO"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(app.config["HOOKDESK_DATABASE_URL"]),
        MAX_CONTENT_LENGTH=app.config["HOOKDESK_MAX_ATTACHMENT_BYTES"] + 1024 * 1024,
    )
    if config:
        app.config.update({k: v for k, v in config.items() if not k.startswith("HOOKDESK_")})

    host = PluginHost(parse_enabled(app.config["HOOKDESK_PLUGINS"]), extra=plugin_objects)
    app.extensions["hookdesk"] = host
    from kernel import jobs

    jobs.make_queue(app)

    db.init_app(app)
    from web import migrations

    migrate.init_app(app, db, directory=migrations.DIRECTORY, command="alembic")
    migrations.configure(migrate, host)

    _request_scoped_g(app)
    from web import api, auth, cli, files, forms, i18n, ratelimit, security, views
    from web.admin import bp as admin_bp
    from web.agent import bp as agent_bp
    from web.portal import bp as portal_bp
    from web.reports import bp as reports_bp
    from web.settings import bp as settings_bp

    i18n.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)
    forms.init_app(app)
    auth.init_app(app)
    for blueprint in (views.bp, portal_bp, agent_bp, settings_bp, files.bp, admin_bp,
                      reports_bp):
        app.register_blueprint(blueprint)
    api.init_app(app)
    for _plugin, blueprints in host.collect("hookdesk_register_blueprints"):
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
    cli.register(app, host)
    host.call_all("hookdesk_init_app", app=app)
    from web import startup

    startup.init_app(app)  # hookdesk_startup before the first request, not here
    from web.testclient import HookdeskClient

    app.test_client_class = HookdeskClient
    return app


# What extensions cache in ``g`` for one request: the signed-in user (Flask-Login),
# the language (Flask-Babel), the CSRF token (Flask-WTF) and ours.
REQUEST_G_KEYS = ("_login_user", "_flask_babel", "csrf_token", "csrf_valid", "user",
                  "_hookdesk_locale", "_hookdesk_tz")


def _request_scoped_g(app: Flask) -> None:
    """Each request starts from a clean ``g``. Flask reuses an application context
    that is already pushed (tests, the CLI, jobs running inline), and with it the
    previous request's cached user and language."""
    from flask import g

    @app.before_request
    def _fresh_g():
        for key in REQUEST_G_KEYS:
            g.pop(key, None)
        g._hookdesk_g_before = frozenset(vars(g))

    @app.teardown_request
    def _drop_request_g(_exc):
        before = g.pop("_hookdesk_g_before", None)
        if before is not None:
            for key in set(vars(g)) - before:
                g.pop(key, None)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True}
