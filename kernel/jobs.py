"""The job queue (X3): Huey, with storage chosen by ``HOOKDESK_QUEUE_URL``.

* ``sqlite:///path/queue.db`` (default: ``instance/queue.db``) — the embedded
  default, no server;
* ``redis://host:6379/0`` — at scale, with several workers on several machines;
* ``memory://`` — runs each job at once in the calling process (tests).

Plugins declare jobs with ``hookdesk_register_jobs``; ``enqueue`` called inside a
unit of work waits for its commit, so a job never sees data that was rolled
back. ``hookdesk worker`` runs a consumer. Deliveries that must survive a
crash are written to an outbox table in the change's transaction, and a job
delivers them; the queue itself is the transport, not the record.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from kernel.errors import ValidationFailed

log = logging.getLogger("hookdesk.jobs")


def make_queue(app: Flask) -> Huey:
    url = app.config.get("HOOKDESK_QUEUE_URL") or (
        "sqlite:///" + os.path.join(app.instance_path, "queue.db")
    )
    name = "hookdesk"
    if url.startswith("redis://") or url.startswith("rediss://"):
        queue: Huey = RedisHuey(name, url=url, results=False)
    elif url.startswith("sqlite:///"):
        queue = SqliteHuey(name, filename=url[len("sqlite:///"):], results=False)
    elif url == "memory://":
        queue = MemoryHuey(name, immediate=True, results=False)
    else:
        raise ValueError(f"HOOKDESK_QUEUE_URL {url!r}: use sqlite:///..., redis://... or memory://")
    app.extensions["hookdesk_jobs"] = {"queue": queue, "tasks": {}}
    registry = app.extensions["hookdesk"].registry
    for _key, entry in sorted(registry.jobs.items()):
        add_job(app, entry.decl)
    return queue


def add_job(app: Flask, decl: Any) -> None:
    """Declare one more job (a ``JobDecl``) on ``app``'s queue — for the web
    layer's own jobs; plugins use ``hookdesk_register_jobs``."""
    state = app.extensions["hookdesk_jobs"]
    queue, tasks = state["queue"], state["tasks"]
    key = decl.key
    if key in tasks:
        raise ValueError(f"job {key!r} is declared twice")
    runner = _in_app_context(app, decl.run)
    if decl.periodic:
        minute, hour, day, month, dow = decl.periodic.split()
        tasks[key] = queue.periodic_task(
            crontab(minute, hour, day, month, dow), retries=decl.retries,
            retry_delay=decl.retry_delay, name=key,
        )(runner)
    else:
        tasks[key] = queue.task(
            retries=decl.retries, retry_delay=decl.retry_delay, retry_backoff=2, name=key,
        )(runner)


def _in_app_context(app: Flask, func):
    def run(**kwargs: Any) -> None:
        with app.app_context():
            from kernel.db import db

            try:
                func(**kwargs)
            finally:
                db.session.remove()

    run.__name__ = getattr(func, "__name__", "job")
    return run


def queue() -> Huey:
    return current_app.extensions["hookdesk_jobs"]["queue"]


def enqueue(key: str, once: bool = False, **kwargs: Any) -> None:
    """Queue job ``key``; inside a unit of work, only once it has committed.

    ``once``: inside a unit of work, queue job ``key`` at most once (with the
    arguments of the first call) however often the change asks for it."""
    from kernel.services.uow import call_after_commit, in_unit_of_work

    tasks = current_app.extensions["hookdesk_jobs"]["tasks"]
    if key not in tasks:
        raise ValidationFailed({"job": f"Unknown job {key!r}."})
    task = tasks[key]
    if in_unit_of_work():
        call_after_commit(lambda: task(**kwargs), once=f"job:{key}" if once else None)
    else:
        task(**kwargs)
