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


def script_directory():
    """The Alembic scripts of the kernel and every enabled plugin."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config(None))


def branch_state() -> dict[str, str | None]:
    """``{branch label: its newest applied revision, or None (base)}`` for every
    branch of the enabled plugins. ``alembic_version`` keeps only the newest
    revisions; what they stand for is found through ``down_revision`` and
    ``depends_on`` (rows of disabled plugins are skipped)."""
    from alembic.migration import MigrationContext

    from kernel.db import db
    from kernel.migration_branches import branch_heads

    with db.engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return branch_heads(script_directory(), heads)


def set_aside_disabled() -> None:
    """Set disabled plugins' revisions aside now (``env.py`` does it on every
    run too), so that ``branch_state`` tells the truth before an upgrade."""
    from kernel.db import db
    from kernel.migration_branches import reconcile

    with db.engine.begin() as conn:
        reconcile(conn, script_directory())


def drop_plugin(plugin: str) -> list[str]:
    """Drop a disabled plugin's tables and forget its branch (``hookdesk db
    drop-plugin``); returns the dropped tables."""
    from kernel.db import db
    from kernel.migration_branches import drop_plugin as drop
    from kernel.plugins import discover

    with db.engine.begin() as conn:
        return drop(conn, script_directory(), plugin, set(discover()))


def describe_changes(before: dict[str, str | None], after: dict[str, str | None]) -> list[str]:
    """``["example: base -> example_0001", ...]`` for every branch that moved."""
    return [f"{label}: {before.get(label) or 'base'} -> {after.get(label) or 'base'}"
            for label in sorted(set(before) | set(after))
            if before.get(label) != after.get(label)]


def next_revision_id(plugin: str) -> str:
    """``<plugin>_<NNNN>``: the readable id of the branch's next revision."""
    numbers = [0]
    for rev in script_directory().walk_revisions():
        prefix, _, tail = rev.revision.rpartition("_")
        if plugin in rev.branch_labels and prefix == plugin and tail.isdigit():
            numbers.append(int(tail))
    return f"{plugin}_{max(numbers) + 1:04d}"
