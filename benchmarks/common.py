"""Shared pieces: a throw-away app per benchmark, timers and the printed table."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PLUGINS = ("helpdesk",)


@dataclass
class Sizes:
    """How much work each benchmark does; ``--quick`` shrinks everything."""

    create: int  # tickets created through the service (and by each baseline)
    create_rounds: int  # the runs take turns, ``create // create_rounds`` tickets a turn
    memory_block: int  # tickets per tracemalloc block
    list_rows: int  # tickets seeded for the list benchmark
    list_repeats: int  # timed runs per list query (the median is printed)

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(create=1_000, create_rounds=4, memory_block=1_000,
                       list_rows=10_000, list_repeats=15)
        return cls(create=10_000, create_rounds=10, memory_block=1_000,
                   list_rows=100_000, list_repeats=21)


def make_app(root: str, name: str, plugins: tuple[str, ...] = PLUGINS):
    """A migrated, synced Hookdesk app on its own SQLite file under ``root/name``.

    ``kernel.testing.build_app`` keeps a migrated template next to the folder, so
    only the first app of a run pays for the migrations."""
    from kernel.testing import build_app

    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    return build_app(folder, plugins=plugins)


@contextmanager
def app_context(app) -> Iterator[Any]:
    from kernel.db import db

    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def make_agent(email: str = "bench-agent@bench.example"):
    from kernel.services import users

    return users.create({"email": email, "password": "bench-pass-1", "roles": ["agent"],
                         "name": "Bench Agent"})


def seconds(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians_ms(runs: dict[str, Callable[[], Any]], repeats: int, warmup: int = 2,
               before: Callable[[], Any] | None = None) -> dict[str, float]:
    """Median wall time in ms of each callable. The callables take turns (one call
    each per round) so that background load affects them alike; ``before`` runs
    untimed before every call."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(warmup + repeats):
        for name, fn in runs.items():
            if before is not None:
                before()
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if i >= warmup:
                samples[name].append(elapsed * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


@contextmanager
def statements(engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect ``(sql, params)`` of every statement the engine runs inside the block."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def machine() -> str:
    import sqlalchemy

    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = cores
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLAlchemy {sqlalchemy.__version__}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.machine()}, {usable} usable core(s) of {cores}"
    )


def title(text: str) -> None:
    print()
    print(text)
    print("=" * len(text))
    sys.stdout.flush()


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Left-aligned first column, right-aligned others."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def line(cells):
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def ratio(value: float, baseline: float) -> str:
    if baseline <= 0:
        return "n/a"
    times = value / baseline
    return f"{times:.1f}x" if times >= 0.95 else f"{times:.2f}x"
