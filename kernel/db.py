"""The one database handle of Hookdesk, and the engine tuning both back ends need.

Kernel and plugins declare their models on ``db.Model``. SQLite is the embedded
default: we switch it to WAL, and a unit of work (every write through the
services) starts its transaction with ``BEGIN IMMEDIATE`` so that concurrent
writers queue on the busy timeout instead of failing with "database is locked"
when a read transaction tries to upgrade (Rails 8 made the same choice). Plain
reads stay deferred, so in WAL mode they never wait for a writer.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and
# PostgreSQL and let batch migrations drop constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """Aware UTC now; every timestamp Hookdesk stores is UTC."""
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):  # pragma: no cover - trivial
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
        # transaction handling would start DEFERRED transactions).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# Set by ``kernel.services.uow.unit_of_work`` while a write transaction is wanted.
sqlite_write_intent: ContextVar[bool] = ContextVar("hookdesk_sqlite_write", default=False)


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")


class UTCDateTime(TypeDecorator):
    """A timestamp that is always an aware UTC ``datetime`` in Python.

    SQLite keeps no time zone and hands back naive values; this type stores UTC
    and gives back aware UTC on every back end, so comparisons never mix the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


MAX_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL; SQLite allows more


def get_by_id(model, ident):
    """``db.session.get`` for ids that come from outside: anything that is not a
    positive id within range is simply not found (instead of a database error)."""
    try:
        number = int(ident)
    except (TypeError, ValueError):
        return None
    if isinstance(ident, bool) or not 0 < number <= MAX_ID:
        return None
    return db.session.get(model, number)
