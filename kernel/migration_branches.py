"""Alembic branches of plugins that are switched off, kept aside until they return.

``alembic_version`` holds only the newest applied revisions, and a plugin's
revision that depends on a kernel revision stands for both. Alembic must be
able to read every row, so a disabled plugin's row (whose scripts are not
loaded: a disabled plugin's code never runs) stops every command with
``Can't locate revision``. Hence a second bookkeeping table,
``alembic_branches`` (``label``, ``revision``), written after every migration
run: the newest applied revision of each enabled branch, spelled out. Before a
run, ``reconcile`` rebuilds ``alembic_version`` from the rows Alembic can read
plus the recorded revisions of the enabled branches; the rows of disabled
plugins stay recorded, their tables and data untouched, and come back when the
plugin is enabled again. Like ``alembic_version`` the table belongs to the
migration tool, not to the models: ``env.py`` creates it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError

BRANCHES_TABLE = "alembic_branches"
_meta = sa.MetaData()
BRANCHES = sa.Table(
    BRANCHES_TABLE, _meta,
    sa.Column("label", sa.String(64), primary_key=True),
    sa.Column("revision", sa.String(64), nullable=False),
)
VERSIONS = sa.Table("alembic_version", _meta,
                    sa.Column("version_num", sa.String(32), primary_key=True))


def _known(script: ScriptDirectory, revision: str):
    try:
        return script.get_revision(revision)
    except CommandError:
        return None
    except Exception:  # alembic's ResolutionError and friends: an unknown id
        return None


def applied(script: ScriptDirectory, heads) -> set[str]:
    """Every revision the ``heads`` stand for (down revisions and dependencies);
    ids the script directory does not know are skipped."""
    done: set[str] = set()
    todo = list(heads)
    while todo:
        rev = _known(script, todo.pop())
        if rev is None or rev.revision in done:
            continue
        done.add(rev.revision)
        todo.extend(rev._all_down_revisions)
    return done


def branch_heads(script: ScriptDirectory, heads) -> dict[str, str | None]:
    """``{label: newest applied revision or None}`` for every labelled branch."""
    done = applied(script, heads)
    state: dict[str, str | None] = {}
    for rev in script.walk_revisions():  # descendants before their ancestors
        for label in sorted(rev.branch_labels):
            if state.get(label) is None:
                state[label] = rev.revision if rev.revision in done else None
    return state


def _newest(script: ScriptDirectory, revisions: set[str]) -> set[str]:
    """The revisions no other one of them stands for."""
    covered: set[str] = set()
    for rev in revisions:
        covered |= applied(script, [rev]) - {rev}
    return revisions - covered


def _rows(conn) -> list[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(sa.select(VERSIONS.c.version_num)).scalars())


def recorded(conn) -> dict[str, str]:
    """``{label: revision}`` as last written by ``record`` (disabled plugins too)."""
    if not sa.inspect(conn).has_table(BRANCHES_TABLE):
        return {}
    return dict(conn.execute(sa.select(BRANCHES.c.label, BRANCHES.c.revision)).all())


def reconcile(conn, script: ScriptDirectory) -> None:
    """Make ``alembic_version`` hold only revisions of enabled branches: set the
    rows of disabled plugins aside (in ``alembic_branches``) and bring back the
    recorded revision of a plugin enabled again."""
    BRANCHES.create(conn, checkfirst=True)
    rows = _rows(conn)
    unknown = [r for r in rows if _known(script, r) is None]
    saved = recorded(conn)
    if unknown and not saved and branch_heads(script, rows).get("kernel") is None:
        # A database migrated before this table existed, whose kernel revision
        # only a disabled plugin's row stands for: what that row means cannot be told.
        raise CommandError(
            f"alembic_version holds {', '.join(unknown)}, from a plugin that is not "
            "enabled, and this database has no record of its branches yet: enable "
            "that plugin again, run `hookdesk db upgrade` once, then disable it.")
    if not unknown and not saved:
        return
    for revision in unknown:  # a database from before this table: keep the row
        if revision not in saved.values():
            label = revision.rpartition("_")[0] or revision
            conn.execute(BRANCHES.insert().values(label=label, revision=revision))
    wanted = {r for r in rows if r not in unknown}
    labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    wanted |= {rev for label, rev in saved.items()
               if label in labels and _known(script, rev) is not None}
    newest = _newest(script, wanted)
    if newest != set(rows):
        conn.execute(VERSIONS.delete())
        if newest:
            conn.execute(VERSIONS.insert(), [{"version_num": r} for r in sorted(newest)])


def record(conn, script: ScriptDirectory) -> None:
    """After a run: write the newest applied revision of every enabled branch
    (a branch back at base is forgotten); other labels are left as they are."""
    BRANCHES.create(conn, checkfirst=True)
    state = branch_heads(script, _rows(conn))
    saved = recorded(conn)
    for label, revision in state.items():
        if revision is None:
            if label in saved:
                conn.execute(BRANCHES.delete().where(BRANCHES.c.label == label))
        elif label not in saved:
            conn.execute(BRANCHES.insert().values(label=label, revision=revision))
        elif saved[label] != revision:
            conn.execute(BRANCHES.update().where(BRANCHES.c.label == label)
                         .values(revision=revision))


def plugin_tables(conn, plugin: str, installed: set[str]) -> list[str]:
    """The tables named ``<plugin>_*``, leaving out those of an installed plugin
    whose longer name starts the same way (``orders_x_…`` belongs to ``orders_x``)."""
    longer = [name for name in installed if name != plugin and name.startswith(plugin + "_")]
    return sorted(name for name in sa.inspect(conn).get_table_names()
                  if name.startswith(plugin + "_")
                  and not any(name.startswith(other + "_") for other in longer))


def drop_plugin(conn, script: ScriptDirectory, plugin: str, installed: set[str]) -> list[str]:
    """Drop a disabled plugin's tables and forget its branch; returns the
    dropped tables' names. The caller has checked that ``plugin`` is not enabled."""
    reconcile(conn, script)
    names = plugin_tables(conn, plugin, installed)
    meta = sa.MetaData()
    meta.reflect(conn, only=names)
    meta.drop_all(conn)  # children before parents
    conn.execute(BRANCHES.delete().where(BRANCHES.c.label == plugin))
    return names
