"""Full-text search over tickets: subjects, text fields and messages, in Russian and
English (issue 14 item 5). The one place that knows how the index is stored.

* **PostgreSQL**: ``search_entries.document`` is a ``tsvector`` built with the
  'russian' text-search configuration, GIN-indexed. That configuration stems
  Cyrillic words with the Russian Snowball stemmer and Latin words with
  ``english_stem`` — the dictionary of the 'english' configuration, stop words
  included — so one vector serves both languages instead of two vectors of the
  same words. Queries go through ``to_tsquery('russian', ...)``.
* **SQLite**: ``search_entries.document`` is the text stemmed here (PyStemmer:
  Russian Snowball for Cyrillic words, English for the rest, "ё" read as "е"),
  indexed by the FTS5 table ``search_fts`` (``unicode61 remove_diacritics 2``);
  the query's words are stemmed the same way, so "заявки" finds "заявка".

The index is kept in step by this module's session listeners: every flush notes
the tickets whose text fields changed and the messages written, and the unit of
work's commit re-indexes them before it commits — in the same transaction, so a
rolled-back change leaves no trace in the index (docs/architecture.md says why
not database triggers). Deleting a ticket or a message deletes its entries by
foreign-key cascade.

Query syntax (whatever a person types is valid): words are ANDed; ``"two words"``
is a phrase; a trailing ``*`` makes a word a prefix (``заяв*``); so does ending
the query with a bare word of three letters or more (search as you type:
"Print" finds "Printer"). Punctuation and
operators of FTS5 or tsquery are never passed through.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer
from flask import has_app_context
from sqlalchemy import Integer, bindparam, delete, event, func, insert, literal_column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from kernel import permissions, visibility
from kernel.db import db
from kernel.models import FieldDefinition, Message, SearchEntry, Ticket, User

TEXT_TYPES = ("text", "long_text")
MAX_TERMS = 16  # more words than this in one query are ignored
MAX_WORD = 64  # longer "words" are cut: nobody searches for them, FTS would not care
PREFIX_FROM = 3  # the last word typed is a prefix from this many letters on
MAX_TEXT = 200_000  # characters of one text that are indexed (PostgreSQL caps a tsvector at 1 MB)
BATCH = 500

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers keep
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_TOKEN = re.compile(r'"([^"]*)"?|([^\s"]+)')
_CONFIG = literal_column("'russian'::regconfig")

_stemmers = threading.local()  # a PyStemmer object must not be shared between threads


def _stemmer(language: str) -> Any:
    found = getattr(_stemmers, language, None)
    if found is None:
        found = Stemmer.Stemmer(language)
        setattr(_stemmers, language, found)
    return found


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """The stem of one lower-case word: Russian Snowball if it has Cyrillic letters,
    English otherwise."""
    language = "russian" if _CYRILLIC.search(word) else "english"
    return _stemmer(language).stemWord(word)


def _words(text: str) -> list[str]:
    """The words of ``text``, lower-case, "ё" as "е", each at most ``MAX_WORD`` long."""
    return [w[:MAX_WORD] for w in _WORD.findall(text.lower().replace("ё", "е"))]


def stemmed(text: str) -> str:
    """``text`` as the SQLite index stores it: its stems, space-separated."""
    return " ".join(_stem(w) for w in _words(text[:MAX_TEXT]))


@dataclass(frozen=True)
class Term:
    """One condition of a query: a word, or a phrase of several; ``prefix``: the
    last word may be the start of a longer one."""

    words: tuple[str, ...]
    prefix: bool = False


def parse(query: str) -> list[Term]:
    """The terms of what a person typed (at most ``MAX_TERMS``); ``[]`` when it has no
    word at all. Never fails."""
    found: list[Term] = []
    for match in _TOKEN.finditer(query or ""):
        phrase, bare = match.group(1), match.group(2)
        if phrase is not None:
            inside = _words(phrase)[:MAX_TERMS]
            if inside:
                found.append(Term(tuple(inside)))
            continue
        parts = _words(bare)
        for index, word in enumerate(parts):
            found.append(Term((word,), prefix=bare.endswith("*") and index == len(parts) - 1))
    last = re.search(r"([^\s\"]+)\s*$", query or "")
    if found and last and not found[-1].prefix and len(found[-1].words) == 1:
        # Search as you type: the last word, if written bare and at least
        # PREFIX_FROM letters long, also matches longer words ("Print" -> "Printer").
        typed = _words(last.group(1))
        if typed and typed[-1] == found[-1].words[0] and len(typed[-1]) >= PREFIX_FROM:
            found[-1] = Term(found[-1].words, prefix=True)
    unique = list(dict.fromkeys(found))
    return unique[:MAX_TERMS]


def fts_query(terms: Sequence[Term]) -> str:
    """The FTS5 MATCH expression of ``terms`` (stems in double quotes, ANDed)."""
    parts = []
    for term in terms:
        text = " ".join(_stem(w) for w in term.words)
        parts.append(f'"{text}"' + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def tsquery_text(terms: Sequence[Term]) -> str:
    """The ``to_tsquery`` text of ``terms``: each word quoted, a phrase joined by
    ``<->``, a prefix marked ``:*``, terms joined by ``&``. PostgreSQL stems it."""
    parts = []
    for term in terms:
        quoted = [f"'{w}'" for w in term.words]
        if term.prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " & ".join(parts)


# -- reading ----------------------------------------------------------------------------


# The entry-level query is plain SQL with bound parameters: the index's own syntax
# differs per back end anyway, and building it as text keeps the service's cost
# next to the raw query's (benchmarks/search.py) even when the match is tiny.
_FROM = {
    "sqlite": "SELECT {distinct}e.ticket_id FROM search_fts "
              "JOIN search_entries AS e ON e.id = search_fts.rowid "
              "WHERE search_fts MATCH :search_match",
    "postgresql": "SELECT {distinct}e.ticket_id FROM search_entries AS e "
                  "WHERE e.document @@ to_tsquery('russian', :search_match)",
}


def _hidden_text_fields(viewer: visibility.Viewer) -> list[str]:
    """Keys of text fields ``viewer`` may not read (none for most agents)."""
    if viewer is None:
        return []
    from kernel import fieldset

    shown = visibility.list_field_keys(viewer)
    return sorted(f.key for f in fieldset.all_fields()
                  if f.type in TEXT_TYPES and f.key not in shown)


def _entries_sql(terms: Sequence[Term], viewer: visibility.Viewer, ordered: bool,
                 limit: int | None = None) -> Any:
    """The matching entries' ticket ids, restricted to what of the index ``viewer``
    may match: no internal notes unless they read them, no field they do not see."""
    dialect = db.engine.dialect.name
    postgres = dialect == "postgresql"
    sql = _FROM["postgresql" if postgres else "sqlite"].format(
        distinct="DISTINCT " if ordered else "")
    params: dict[str, Any] = {"search_match": tsquery_text(terms) if postgres
                              else fts_query(terms)}
    if viewer is not None and not visibility.sees_internal(viewer):
        sql += " AND e.internal = false" if postgres else " AND e.internal = 0"
    hidden = _hidden_text_fields(viewer)
    if hidden:
        sql += " AND (e.field_key IS NULL OR e.field_key NOT IN :search_hidden)"
        params["search_hidden"] = hidden
    if ordered:
        sql += " ORDER BY e.ticket_id DESC"
    if limit is not None:
        sql += " LIMIT :search_limit"
        params["search_limit"] = int(limit)
    statement = text(sql)
    if hidden:
        statement = statement.bindparams(bindparam("search_hidden", expanding=True))
    return statement.bindparams(**params).columns(ticket_id=Integer)


def _tickets_clause(viewer: visibility.Viewer) -> Any | None:
    """The viewer's ticket visibility (``permissions.visible_tickets_clause``), or
    ``None`` when they may list every ticket."""
    if not isinstance(viewer, User):
        return None
    clause = permissions.visible_tickets_clause(viewer)
    return None if isinstance(clause, True_) else clause


def matching_ids(query: str, viewer: visibility.Viewer) -> Any | None:
    """A subquery of the ids of tickets whose visible text matches ``query`` (for
    ``Ticket.id.in_(...)``), or ``None`` when ``query`` has no word to look for.
    ``viewer``: as for every list (``None``: the system, sees everything)."""
    terms = parse(query)
    if not terms:
        return None
    entries = _entries_sql(terms, viewer, ordered=False)
    tickets = _tickets_clause(viewer)
    if tickets is None:
        return entries
    found = entries.subquery()
    return select(found.c.ticket_id).where(
        found.c.ticket_id.in_(select(Ticket.id).where(tickets)))


def search(query: str, viewer: visibility.Viewer, limit: int | None = None) -> list[int]:
    """Ids of the tickets matching ``query`` that ``viewer`` may see, newest first."""
    terms = parse(query)
    if not terms:
        return []
    tickets = _tickets_clause(viewer)
    if tickets is None:
        return list(db.session.scalars(_entries_sql(terms, viewer, True, limit)))
    found = _entries_sql(terms, viewer, ordered=False).subquery()
    statement = (select(found.c.ticket_id).distinct()
                 .where(found.c.ticket_id.in_(select(Ticket.id).where(tickets)))
                 .order_by(found.c.ticket_id.desc()))
    if limit is not None:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


# -- writing ----------------------------------------------------------------------------


def _text_fields(connection: Connection | Session) -> list[tuple[str, str | None]]:
    """``(field key, Ticket attribute or None for the JSON values)`` of text fields."""
    if has_app_context() and not isinstance(connection, Connection):
        from kernel import fieldset

        rows = [(f.key, f.storage) for f in fieldset.all_fields(include_inactive=False)
                if f.type in TEXT_TYPES]
    else:
        rows = list(connection.execute(
            select(FieldDefinition.key, FieldDefinition.storage)
            .where(FieldDefinition.type.in_(TEXT_TYPES))))
    found = []
    for key, storage in rows:
        if storage == "column":
            attribute = visibility.FIELD_ATTRIBUTES.get(key)
            if attribute and hasattr(Ticket, attribute):
                found.append((key, attribute))
        else:
            found.append((key, None))
    return found


def _insert(connection: Connection | Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    bind = connection if isinstance(connection, Connection) else connection.get_bind()
    postgres = bind.dialect.name == "postgresql"
    document = func.to_tsvector(_CONFIG, bindparam("text")) if postgres else bindparam("text")
    statement = insert(SearchEntry.__table__).values(
        ticket_id=bindparam("ticket"), message_id=bindparam("message"),
        field_key=bindparam("key"), internal=bindparam("internal"), document=document)
    for row in rows:
        text = row["text"][:MAX_TEXT]
        row["text"] = text if postgres else stemmed(text)
    connection.execute(statement, rows)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), BATCH):
        yield ordered[start:start + BATCH]


def index_tickets(connection: Connection | Session, ticket_ids: Iterable[int]) -> None:
    """Re-index the text fields of these tickets (their messages are left alone)."""
    fields = _text_fields(connection)
    attributes = sorted({a for _k, a in fields if a})
    entries = SearchEntry.__table__
    for chunk in _chunks(ticket_ids):
        connection.execute(delete(entries).where(entries.c.ticket_id.in_(chunk),
                                                 entries.c.message_id.is_(None)))
        columns = [Ticket.id, Ticket.values, *(getattr(Ticket, a) for a in attributes)]
        rows = []
        for found in connection.execute(select(*columns).where(Ticket.id.in_(chunk))):
            rows += _ticket_entries(fields, found._mapping.__getitem__)
        _insert(connection, rows)


def _ticket_entries(fields: list[tuple[str, str | None]], get: Any) -> list[dict[str, Any]]:
    """Index rows of one ticket; ``get(name)`` reads its ``id``, ``values`` and columns."""
    rows = []
    values = get("values") or {}
    for key, attribute in fields:
        value = get(attribute) if attribute else values.get(key)
        if isinstance(value, str) and value.strip():
            rows.append({"ticket": get("id"), "message": None, "key": key,
                         "internal": False, "text": value})
    return rows


def _message_entry(ident: int, ticket_id: int, body: str | None, internal: bool
                   ) -> list[dict[str, Any]]:
    if not body or not body.strip():
        return []
    return [{"ticket": ticket_id, "message": ident, "key": None, "internal": bool(internal),
             "text": body}]


def index_messages(connection: Connection | Session, message_ids: Iterable[int]) -> None:
    """Re-index these messages (one that no longer exists is dropped from the index)."""
    entries = SearchEntry.__table__
    for chunk in _chunks(message_ids):
        connection.execute(delete(entries).where(entries.c.message_id.in_(chunk)))
        rows = []
        for found in connection.execute(
                select(Message.id, Message.ticket_id, Message.body, Message.internal)
                .where(Message.id.in_(chunk))):
            rows += _message_entry(*found)
        _insert(connection, rows)


def rebuild(connection: Connection | Session) -> tuple[int, int]:
    """Index every ticket and message from scratch (migration ``kernel_0006``,
    ``hookdesk search rebuild``). Returns (tickets, messages) indexed."""
    connection.execute(delete(SearchEntry.__table__))
    counts = []
    for model in (Ticket, Message):
        last, seen = 0, 0
        while True:
            ids = list(connection.execute(select(model.id).where(model.id > last)
                                          .order_by(model.id).limit(10 * BATCH)).scalars())
            if not ids:
                break
            (index_tickets if model is Ticket else index_messages)(connection, ids)
            last, seen = ids[-1], seen + len(ids)
        counts.append(seen)
    return counts[0], counts[1]


# -- keeping it in step ----------------------------------------------------------------

_TICKETS = "hookdesk.search_tickets"
_MESSAGES = "hookdesk.search_messages"
_TICKET_TEXTS = ("subject", "text", "location", "values")
_MESSAGE_TEXTS = ("body", "internal", "ticket_id")


def _changed(obj: Any, names: Sequence[str]) -> bool:
    state = db.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    """Remember what to index at commit: ``{id: the object}`` for rows this
    transaction inserted (indexed from memory, nothing to delete first), ``{id: None}``
    for changed ones (re-read and re-indexed)."""
    for obj in session.new:
        if isinstance(obj, Ticket):
            session.info.setdefault(_TICKETS, {}).setdefault(obj.id, obj)
        elif isinstance(obj, Message):
            session.info.setdefault(_MESSAGES, {}).setdefault(obj.id, obj)
    for obj in session.dirty:
        if isinstance(obj, Ticket) and _changed(obj, _TICKET_TEXTS):
            session.info.setdefault(_TICKETS, {}).setdefault(obj.id, None)
        elif isinstance(obj, Message) and _changed(obj, _MESSAGE_TEXTS):
            session.info.setdefault(_MESSAGES, {}).setdefault(obj.id, None)


def _alive(obj: Any) -> bool:
    """Still a row: not deleted since, not undone by a rolled-back savepoint."""
    return db.inspect(obj).persistent


@event.listens_for(Session, "before_commit")
def _index_changes(session: Session) -> None:
    if not (session.info.get(_TICKETS) or session.info.get(_MESSAGES)):
        return
    session.flush()
    tickets = session.info.pop(_TICKETS, {})
    messages = session.info.pop(_MESSAGES, {})
    changed = [ident for ident, obj in tickets.items() if obj is None]
    if changed:
        index_tickets(session, changed)
    rows: list[dict[str, Any]] = []
    made = [obj for obj in tickets.values() if obj is not None and _alive(obj)]
    if made:
        fields = _text_fields(session)
        for obj in made:
            rows += _ticket_entries(fields, lambda name, obj=obj: getattr(obj, name))
    changed = [ident for ident, obj in messages.items() if obj is None]
    if changed:
        index_messages(session, changed)
    for obj in messages.values():
        if obj is not None and _alive(obj):
            rows += _message_entry(obj.id, obj.ticket_id, obj.body, obj.internal)
    _insert(session, rows)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_TICKETS, None)
        session.info.pop(_MESSAGES, None)
