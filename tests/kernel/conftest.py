"""Helpers for the kernel tests: "nothing was written" checks and uploads."""

from __future__ import annotations

import io
import os
from contextlib import contextmanager

import pytest
from sqlalchemy import inspect, select
from werkzeug.datastructures import FileStorage

from kernel.db import db


def attachment_files(app) -> list[tuple[str, int]]:
    """Every file under the attachments folder (temporary uploads included)."""
    root = app.config["HOOKDESK_ATTACHMENTS_DIR"]
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found.append((os.path.relpath(path, root), os.path.getsize(path)))
    return sorted(found)


def database_state() -> dict[str, list[str]]:
    """Every row of every table, read through the session.

    Reading through the session on purpose: rows a refused call flushed but did
    not roll back (which a later commit would make permanent) show up here, and
    so do changes left pending on objects (autoflush writes them first)."""
    existing = set(inspect(db.session.connection()).get_table_names())
    state = {}
    for table in db.metadata.sorted_tables:
        if table.name in existing:
            rows = db.session.execute(select(table)).all()
            state[table.name] = sorted(repr(tuple(row)) for row in rows)
    return state


def snapshot(app) -> dict:
    return {"tables": database_state(), "files": attachment_files(app)}


@pytest.fixture
def nothing_written(app):
    """``with nothing_written(), pytest.raises(...):`` — the refused call left every
    table and the attachments folder exactly as they were."""

    @contextmanager
    def check():
        before = snapshot(app)
        yield
        after = snapshot(app)
        assert after["files"] == before["files"], "the attachments folder changed"
        changed = {
            name: (len(before["tables"].get(name, [])), len(rows))
            for name, rows in after["tables"].items()
            if rows != before["tables"].get(name)
        }
        assert not changed, f"tables changed by a refused call (rows before, after): {changed}"
        assert not db.session.new and not db.session.deleted

    return check


@pytest.fixture
def make_upload():
    """``make_upload(b"bytes", "name.pdf")`` — a werkzeug upload as a form gives it."""

    def make(data: bytes, filename: str = "file.txt", content_type: str | None = None):
        return FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)

    return make
