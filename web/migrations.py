"""Alembic through Flask-Migrate, with one branch per plugin.

The kernel's revisions carry the branch label ``kernel``; each plugin's first
revision carries the plugin's name and depends on the kernel revision it
needs. ``hookdesk db upgrade`` upgrades every branch to its head ("heads") and
then writes the plugins' declarations (``kernel.sync``).
"""

from __future__ import annotations

import os

from flask import current_app
from flask_migrate import Migrate

import kernel

DIRECTORY = os.path.join(os.path.dirname(kernel.__file__), "migrations")
_configured = False


def configure(migrate: Migrate, host) -> None:
    global _configured
    if _configured:
        return
    _configured = True

    @migrate.configure
    def _version_locations(config):
        registry = current_app.extensions["hookdesk"].registry
        paths = [registry.migrations[name] for name in sorted(registry.migrations)]
        config.set_main_option("version_locations", " ".join(paths))
        config.set_main_option("path_separator", "space")
        config.set_main_option("version_path_separator", "space")
        return config
