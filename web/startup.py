"""``hookdesk_startup``: once per process for each application, after the
database is migrated and synced — never on import, never in ``create_app``.

It runs before the app's first request (``hookdesk run``, every gunicorn worker:
each worker is its own process, and with ``--preload`` the flag below is still
unset when the master forks), when ``hookdesk worker`` starts, at the end of
``hookdesk db upgrade`` and in the test fixture ``app``. Implementations are
called in the order of plugin names. If one raises, the app is not marked as
started, so the next request tries again.
"""

from __future__ import annotations

import threading

from flask import Flask

_STATE = "hookdesk_startup"  # app.extensions: {"done": bool, "lock": Lock}


def _state(app: Flask) -> dict:
    return app.extensions.setdefault(_STATE, {"done": False, "lock": threading.Lock()})


def has_run(app: Flask) -> bool:
    return _state(app)["done"]


def run(app: Flask) -> bool:
    """Call ``hookdesk_startup(app)`` unless it already ran for ``app`` in this
    process. Returns True when it ran now."""
    state = _state(app)
    if state["done"]:
        return False
    with state["lock"]:
        if state["done"]:
            return False
        host = app.extensions["hookdesk"]
        impls = sorted(host.pm.hook.hookdesk_startup.get_hookimpls(),
                       key=lambda impl: impl.plugin_name)
        with app.app_context():
            for impl in impls:
                impl.function(**{name: app for name in impl.argnames})
        state["done"] = True
        return True


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_up_once():
        if not _state(app)["done"]:
            run(app)
