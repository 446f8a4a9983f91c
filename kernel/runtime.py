"""Where the services find the plugin host and configuration of the running app.

The kernel runs inside a Flask application context (Flask-SQLAlchemy needs one
anyway); the host lives in ``app.extensions["hookdesk"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:  # pragma: no cover
    from kernel.plugins import PluginHost


def host() -> PluginHost:
    try:
        return current_app.extensions["hookdesk"]
    except KeyError as exc:  # pragma: no cover - programming error
        raise RuntimeError("The Hookdesk kernel is not initialised on this app") from exc


def config(key: str, default: Any = None) -> Any:
    return current_app.config.get(key, default)


def app():
    """The real application object (signals must never carry the proxy)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]
