"""``hookdesk warranty``: houses, apartments and owners from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

group = click.Group("warranty", help="Real-estate warranty: houses, apartments and their owners.")

LABELS = (
    ("houses_created", "Houses created"),
    ("houses_updated", "Houses updated"),
    ("apartments_created", "Apartments created"),
    ("apartments_updated", "Apartments updated"),
    ("owners_linked", "Owners linked"),
)


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@with_appcontext
def import_command(file, dry_run):
    """Import houses, apartments and owners from the CSV FILE.

    Columns (header row required; "," or ";"; UTF-8): house, address,
    warranty_until (YYYY-MM-DD or DD.MM.YYYY), apartment, and optionally floor,
    owner_phone, owner_email. All or nothing: on any error nothing is written,
    every error is printed and the exit code is 1."""
    from plugins.warranty.importer import import_csv

    with open(file, "rb") as stream:
        result = import_csv(stream, actor=None, dry_run=dry_run)
    if not result.ok:
        click.echo(f"Nothing imported: {len(result.errors)} error(s) in {file}.", err=True)
        for error in result.errors:
            click.echo(f"  {error}", err=True)
        click.get_current_context().exit(1)
    counts = result.counts()
    if dry_run:
        click.echo(f"Dry run of {result.rows} row(s): the file is fine; nothing was written. "
                   "It would give:")
    else:
        click.echo(f"Imported {result.rows} row(s).")
    for key, label in LABELS:
        click.echo(f"  {label}: {counts[key]}")
