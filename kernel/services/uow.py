"""Units of work: one transaction per service call, signals after commit.

A service call opens a unit of work. Called from inside another unit of work
(a trigger action running within the change that fired it), it becomes a
SAVEPOINT of the outer one: its own failure undoes only its part, and its
signals wait for the outermost commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from blinker import Signal

from kernel import runtime
from kernel.db import db, sqlite_write_intent

log = logging.getLogger("hookdesk.signals")

_DEPTH = "hookdesk.uow_depth"
_PENDING = "hookdesk.pending_signals"
_KEEP = "hookdesk.uow_keep_loaded"


@contextmanager
def unit_of_work(keep_loaded: bool = False) -> Iterator[Any]:
    """``keep_loaded``: commit without expiring the session's objects (see
    ``_commit_keeping_loaded``); asked by any unit of work of the transaction,
    nested ones too, it applies to the whole."""
    session = db.session
    info = session.info
    depth = info.get(_DEPTH, 0)
    info[_DEPTH] = depth + 1
    if keep_loaded:
        info[_KEEP] = True
    try:
        if depth == 0:
            info[_PENDING] = []
            intent = None
            if session.get_bind().dialect.name == "sqlite":
                # A read transaction already open cannot become IMMEDIATE: end it
                # (it holds no changes of ours) so this one begins as a writer.
                # Loaded objects stay loaded: expiring them here would make the
                # caller's next attribute access reload (and autoflush) mid-change.
                current = session()
                if current.in_transaction():
                    keep, current.expire_on_commit = current.expire_on_commit, False
                    try:
                        current.commit()
                    finally:
                        current.expire_on_commit = keep
                intent = sqlite_write_intent.set(True)
            try:
                yield session
                if info.pop(_KEEP, False):
                    _commit_keeping_loaded(session)
                else:
                    session.commit()
            except BaseException:
                session.rollback()
                info[_PENDING] = []
                raise
            finally:
                info.pop(_KEEP, None)
                if intent is not None:
                    sqlite_write_intent.reset(intent)
        else:
            mark = len(info[_PENDING])
            nested = session.begin_nested()
            try:
                yield session
                nested.commit()
            except BaseException:
                nested.rollback()
                del info[_PENDING][mark:]
                raise
    finally:
        info[_DEPTH] = depth
    if depth == 0:
        _dispatch(info.pop(_PENDING, []))


def _commit_keeping_loaded(session) -> None:
    """Commit without expiring what the change loaded and wrote: the caller
    answers from these objects (a created ticket, its type and status, the
    actor and roles), and reloading them after the write cost a request five
    or six statements. For the services whose caller answers at once (create a
    ticket, post a message): what the transaction wrote is what the rows hold."""
    current = session()
    keep, current.expire_on_commit = current.expire_on_commit, False
    try:
        current.commit()
    finally:
        current.expire_on_commit = keep


def in_unit_of_work() -> bool:
    return db.session.info.get(_DEPTH, 0) > 0


def outermost_unit_of_work() -> bool:
    """True inside a unit of work that is not nested in another one."""
    return db.session.info.get(_DEPTH, 0) == 1


def after_commit(signal: Signal, sender: str, **kwargs: Any) -> None:
    """Queue ``signal`` to be sent once the outermost unit of work commits."""
    if not in_unit_of_work():  # pragma: no cover - programming error
        raise RuntimeError("after_commit() outside a unit of work")
    db.session.info[_PENDING].append((signal, sender, kwargs))


def call_after_commit(callback: Any, once: str | None = None) -> None:
    """Run ``callback()`` once the outermost unit of work commits (never on rollback).

    ``once``: a key; of the callbacks given the same key in one unit of work only
    the first runs (one delivery job for all the letters of a change)."""
    if not in_unit_of_work():  # pragma: no cover - programming error
        raise RuntimeError("call_after_commit() outside a unit of work")
    pending = db.session.info[_PENDING]
    if once is not None and any(signal is None and kwargs.get("once") == once
                                for signal, _sender, kwargs in pending):
        return
    pending.append((None, "", {"callback": callback, "once": once}))


def _dispatch(pending: list[tuple[Signal | None, str, dict[str, Any]]]) -> None:
    app = runtime.app()
    for signal, sender, kwargs in pending:
        try:
            if signal is None:
                kwargs["callback"]()
                continue
            signal.send(sender, app=app, **kwargs)
        except Exception:
            # The change is committed; a failing receiver must not pretend it was not.
            # Receivers that need delivery guarantees write to the outbox in-transaction.
            log.exception("after-commit work failed: %s", signal.name if signal else kwargs)
            if app.config.get("HOOKDESK_RAISE_SIGNAL_ERRORS"):
                raise


# The full-text index is written by listeners on this same transaction (its module
# registers them): importing it here makes every unit of work keep it in step.
from kernel.services import search as _search  # noqa: E402,F401
