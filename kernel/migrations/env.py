"""Alembic environment: the kernel's branch and one branch per enabled plugin.

``version_locations`` is filled from ``hookdesk_register_migrations`` (see
``web.migrations``). When a revision is generated for one plugin, only that
plugin's tables (``<plugin>_*``) are compared, so a plugin's branch never
captures kernel or other plugins' tables.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from kernel import migration_branches

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
host = current_app.extensions["hookdesk"]
scope = current_app.extensions.get("hookdesk_migration_scope")


def _owner(table_name: str) -> str:
    for plugin in host.enabled:
        if table_name.startswith(plugin + "_"):
            return plugin
    return "kernel"


def include_object(obj, name, type_, reflected, compare_to):
    if name == migration_branches.BRANCHES_TABLE:
        return False  # the migration tool's bookkeeping, like alembic_version
    if scope is None:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return _owner(table_name) == scope


def process_revision_directives(ctx, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def run_online():
    engine = db.engine
    with engine.connect() as connection:
        options = {
            **current_app.extensions["migrate"].configure_args,
            "render_as_batch": connection.dialect.name == "sqlite",
            "compare_type": True,
        }
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            include_object=include_object,
            process_revision_directives=process_revision_directives,
            **options,
        )
        # A disabled plugin's revisions are set aside before Alembic reads the
        # version table, and every enabled branch's head is written down after.
        # Committed apart: on SQLite Alembic opens a transaction per revision.
        migration_branches.reconcile(connection, context.script)
        connection.commit()
        with context.begin_transaction():
            context.run_migrations()
        migration_branches.record(connection, context.script)
        connection.commit()


def run_offline():
    context.configure(
        url=str(db.engine.url),
        target_metadata=db.metadata,
        include_object=include_object,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
