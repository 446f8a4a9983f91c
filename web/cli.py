"""The ``hookdesk`` command line: Flask's CLI of the app plus Hookdesk's commands
(``db``, ``demo``, ``plugins``, ``user``) and every enabled plugin's commands."""

from __future__ import annotations

import os
import sys

import click
import flask_migrate
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from kernel.errors import HookdeskError, PluginError


def _create_app():
    from web import create_app

    try:
        return create_app()
    except PluginError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
@click.version_option(package_name="hookdesk", prog_name="hookdesk")
def main():
    """Hookdesk: a helpdesk whose every capability is a plugin."""


# -- db ---------------------------------------------------------------------

db_group = click.Group("db", help="Database migrations (one Alembic branch per plugin).")


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.option("--no-sync", is_flag=True, help="Do not write the plugins' declarations.")
@with_appcontext
def db_upgrade(revision, no_sync):
    """Upgrade every branch, then sync types, pipelines, fields and roles.

    Prints each branch that moved ("example: base -> example_0001"), what the
    sync created, and a warning for each extension it skipped."""
    from web import migrations, startup

    migrations.set_aside_disabled()
    before = migrations.branch_state()
    flask_migrate.upgrade(revision=revision)
    moved = migrations.describe_changes(before, migrations.branch_state())
    for line in moved:
        click.echo(f"Migrated {line}")
    if no_sync:
        if not moved:
            click.echo("Database is up to date.")
        return
    from kernel.sync import sync

    host = current_app.extensions["hookdesk"]
    created = sync(host)
    made = ", ".join(f"{v} {k}" for k, v in created.items() if v)
    if moved or made:
        click.echo(f"Declarations synced{'; created ' + made if made else ''}.")
    else:
        click.echo("Database is up to date.")
    for message in host.registry.skipped:
        click.echo(f"Warning: {message}", err=True)
    startup.run(current_app._get_current_object())


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Downgrade to REVISION (e.g. ``myplugin@base`` to drop one plugin's tables)."""
    flask_migrate.downgrade(revision=revision)


@db_group.command("drop-plugin")
@click.argument("plugin")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@with_appcontext
def db_drop_plugin(plugin, yes):
    """Remove a disabled plugin's tables and data for good.

    Drops every table named ``<plugin>_*`` and forgets the plugin's Alembic
    branch; enabling the plugin later starts it from empty tables. Asks to type
    the plugin's name unless ``--yes``."""
    from web import migrations

    host = current_app.extensions["hookdesk"]
    if plugin == "kernel":
        raise click.BadParameter("the kernel's tables cannot be dropped.", param_hint="PLUGIN")
    if host.is_enabled(plugin):
        raise click.ClickException(
            f"Plugin {plugin!r} is enabled: remove it from HOOKDESK_PLUGINS first.")
    if not yes:
        click.echo(f"This deletes every table of plugin {plugin!r} and all its data.")
        typed = click.prompt("Type the plugin's name to confirm", default="", show_default=False)
        if typed.strip() != plugin:
            raise click.ClickException("Not confirmed; nothing was dropped.")
    dropped = migrations.drop_plugin(plugin)
    if dropped:
        click.echo(f"Dropped {len(dropped)} table(s) of {plugin}: {', '.join(dropped)}.")
    else:
        click.echo(f"No tables of {plugin} found; its branch is forgotten.")


@db_group.command("current")
@with_appcontext
def db_current():
    """Show the current revision of every branch."""
    flask_migrate.current(verbose=True)


@db_group.command("heads")
@with_appcontext
def db_heads():
    flask_migrate.heads(verbose=True)


@db_group.command("history")
@with_appcontext
def db_history():
    flask_migrate.history(verbose=True)


@db_group.command("revision")
@click.option("--plugin", required=True, help="Whose branch: 'kernel' or a plugin name.")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True, show_default=True)
@click.option("--rev-id", default=None, help="The revision id (default: <plugin>_<NNNN>).")
@with_appcontext
def db_revision(plugin, message, autogenerate, rev_id):
    """Write a new revision on one branch, comparing only that branch's tables.

    The file gets a readable id (``example_0002``), the branch's ``down_revision``
    and, for a plugin's first revision, ``branch_labels`` and ``depends_on`` the
    kernel's current head. When autogenerate finds no change in the plugin's
    models it says so, writes nothing and exits with status 0."""
    from web import migrations

    host = current_app.extensions["hookdesk"]
    path = host.registry.migrations.get(plugin)
    if path is None:
        raise click.BadParameter(
            f"{plugin!r} declares no migrations folder (hookdesk_register_migrations).",
            param_hint="--plugin",
        )
    os.makedirs(path, exist_ok=True)
    script = migrations.script_directory()
    labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    new_branch = plugin not in labels
    kwargs = {"message": message, "version_path": path,
              "rev_id": rev_id or migrations.next_revision_id(plugin)}
    if new_branch:
        kwargs.update(head="base", branch_label=plugin)
    else:
        kwargs["head"] = f"{plugin}@head"
    current_app.extensions["hookdesk_migration_scope"] = plugin
    before = set(os.listdir(path))
    try:
        if autogenerate:
            flask_migrate.migrate(**kwargs)
        else:
            flask_migrate.revision(**kwargs)
    finally:
        current_app.extensions.pop("hookdesk_migration_scope", None)
    written = sorted(n for n in set(os.listdir(path)) - before if n.endswith(".py"))
    if not written:
        click.echo(f"No changes in {plugin}'s models; no revision written.")
        return
    if new_branch and plugin != "kernel":
        # A plugin's tables refer to kernel rows: its first revision waits for the
        # kernel's current head.
        kernel_head = script.get_revision("kernel@head").revision
        for name in written:
            file_path = os.path.join(path, name)
            with open(file_path, encoding="utf-8") as fh:
                text = fh.read()
            with open(file_path, "w", encoding="utf-8") as fh:
                fh.write(text.replace("depends_on = None", f"depends_on = {kernel_head!r}", 1))
    for name in written:
        click.echo(f"Wrote {os.path.join(path, name)}")


# -- plugins, demo, users -----------------------------------------------------


@click.command("plugins")
@with_appcontext
def plugins_command():
    """List installed plugins, their versions, and which are enabled."""
    from kernel.plugins import discover

    host = current_app.extensions["hookdesk"]
    found = discover()
    width = max([len(n) for n in found] + [6])
    sources = {name: "built-in" if info.builtin else info.distribution
               for name, info in found.items()}
    swidth = max([len(s) for s in sources.values()] + [10])
    click.echo(f"{'plugin':<{width}}  {'version':<9} {'enabled':<8} {'source':<{swidth}} "
               f"description")
    for name in sorted(found):
        # An enabled plugin describes itself (its object's docstring); a disabled
        # one is not imported: its module's docstring is read from the source.
        info = host.infos.get(name, found[name])
        enabled = "yes" if host.is_enabled(name) else "no"
        click.echo(f"{name:<{width}}  {info.version:<9} {enabled:<8} "
                   f"{sources[name]:<{swidth}} {info.description}")


@click.command("demo")
@with_appcontext
def demo_command():
    """Load demo data for every enabled plugin (once) and print the logins."""
    from kernel import demo

    logins = demo.load(current_app.extensions["hookdesk"])
    click.echo("Demo logins:")
    for email, password, kind in logins:
        click.echo(f"  {kind:<9} {email:<24} password: {password}")


user_group = click.Group("user", help="Manage users.")


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["admin", "agent", "customer"]), default="agent",
              show_default=True)
@click.option("--name", default="")
@with_appcontext
def user_create(email, password, role, name):
    """Create an admin, an agent or a customer account."""
    from kernel.services import users

    kind = "customer" if role == "customer" else "agent"
    try:
        user = users.create({"email": email, "password": password, "kind": kind, "name": name,
                             "roles": [] if kind == "customer" else [role]})
    except HookdeskError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created {role} {user.email} (id {user.id}).")


token_group = click.Group("token", help="Personal API tokens.")


@token_group.command("create")
@click.option("--email", required=True, help="The user the token acts for.")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@with_appcontext
def token_create(email, name):
    """Create a token and print it (it is shown only this once)."""
    from kernel.services import tokens, users

    user = users.by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    try:
        _row, secret = tokens.create(user, name)
    except HookdeskError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(secret)


@token_group.command("list")
@click.option("--email", required=True)
@with_appcontext
def token_list(email):
    from kernel.services import tokens, users

    user = users.by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    for row in tokens.for_user(user):
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.id:>5}  hd_{row.prefix}_…  {state:<8} {row.name}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id):
    from kernel.db import db
    from kernel.models import ApiToken
    from kernel.services import tokens

    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"No token {token_id}.")
    tokens.revoke(token_id, row.user)
    click.echo(f"Revoked token {token_id}.")


search_group = click.Group("search", help="The full-text index of tickets and messages.")


@search_group.command("rebuild")
@with_appcontext
def search_rebuild_command():
    """Index every ticket and message again (after restoring tables by hand)."""
    from kernel.services import search
    from kernel.services.uow import unit_of_work

    with unit_of_work() as session:
        tickets, messages = search.rebuild(session)
    click.echo(f"Indexed {tickets} ticket(s) and {messages} message(s).")


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
@click.option("--no-periodic", is_flag=True, help="Do not run periodic jobs here.")
@with_appcontext
def worker_command(workers, no_periodic):
    """Run the job queue's consumer (deliveries, periodic jobs) until interrupted."""
    from kernel import jobs
    from web import startup

    startup.run(current_app._get_current_object())
    queue = jobs.queue()
    tasks = sorted(current_app.extensions["hookdesk_jobs"]["tasks"])
    click.echo(f"Worker: {workers} thread(s), {len(tasks)} job kind(s): {', '.join(tasks)}")
    # Poll at most once a second when idle: the embedded (SQLite) queue cannot
    # block on new work, and a longer back-off delays every e-mail by as much.
    queue.create_consumer(workers=workers, periodic=not no_periodic, worker_type="thread",
                          max_delay=1.0).run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", "-w", type=int, default=None,
              help="Worker processes (default: 2 x cores + 1, at most 9).")
@click.option("--threads", type=int, default=4, show_default=True,
              help="Threads per worker process.")
@click.option("--access-log", is_flag=True, help="Log every request to standard output.")
def serve_command(host, port, workers, threads, access_log):
    """Serve Hookdesk with gunicorn (production WSGI server); run `hookdesk worker` beside it."""
    from web.serve import default_workers, serve

    serve(host, port, workers or default_workers(), threads, access_log)


def register(app, host) -> None:
    """Add Hookdesk's and the plugins' commands to ``app.cli``."""
    from web.cli_config import COMMANDS

    for command in (db_group, plugins_command, demo_command, user_group, worker_command,
                    serve_command, token_group, search_group, *COMMANDS):
        app.cli.add_command(command)
    taken = set(app.cli.commands) | {"run", "shell", "routes"}
    for plugin, commands in host.collect("hookdesk_register_cli_commands"):
        for command in commands:
            if command.name in taken:
                raise PluginError(f"Plugin {plugin!r}: command {command.name!r} is already taken.")
            taken.add(command.name)
            app.cli.add_command(command)
