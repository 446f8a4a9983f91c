"""``hookdesk example-report``: the satisfaction summary on the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hookdesk_example import ratings


@click.command("example-report")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Only ratings given in the last DAYS days.")
@with_appcontext
def report_command(days: int | None) -> None:
    """Print the number of ratings, the average score and the distribution."""
    data = ratings.summary(days)
    scope = f" in the last {days} days" if days else ""
    if not data["count"]:
        click.echo(f"No ratings{scope}.")
        return
    click.echo(f"Ratings{scope}: {data['count']}, average score: {data['average']:.2f} / 5")
    width = max(data["by_score"].values())
    for score in sorted(data["by_score"], reverse=True):
        count = data["by_score"][score]
        bar = "#" * round(20 * count / width) if width else ""
        click.echo(f"  {score}: {count:>4} {bar}".rstrip())
