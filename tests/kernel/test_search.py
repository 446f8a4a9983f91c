"""Full-text search (issue 14 item 5): the query parser, the index kept in step by
the services, stemming in Russian and English, and the visibility policy."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from kernel.db import db
from kernel.models import SearchEntry
from kernel.services import customers, messages, search, tickets
from kernel.services.uow import unit_of_work


def test_parse_words_phrases_and_prefixes():
    terms = search.parse('Заявки  "printer on fire" ремон* -- ; OR NEAR(')
    assert [t.words for t in terms] == [("заявки",), ("printer", "on", "fire"), ("ремон",),
                                        ("or",), ("near",)]
    assert [t.prefix for t in terms] == [False, False, True, False, True]  # typing: near*
    assert search.parse('  ;; "" * ') == []
    assert search.parse("Print") == [search.Term(("print",), prefix=True)]
    assert search.parse("ab") == [search.Term(("ab",))]  # too short to be a prefix
    assert search.parse('"one two"') == [search.Term(("one", "two"))]


def test_stems_meet_across_word_forms():
    assert search.stemmed("Заявка") == search.stemmed("заявки") == search.stemmed("заявкой")
    assert search.stemmed("Ёлка") == search.stemmed("елки")
    assert search.stemmed("printers") == search.stemmed("printer")


def test_queries_are_built_of_quoted_words_only():
    terms = search.parse('a"b\' OR" x*')
    assert search.fts_query(terms) == '"a" AND "b or" AND "x"*'
    assert search.tsquery_text(terms) == "('a') & ('b' <-> 'or') & ('x':*)"


# Any text a person may type: letters of both alphabets, FTS5 / tsquery operators,
# quotes, brackets, SQL.
TYPED = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab яё Z9_*"\'():^-+&|!<>~NEAROR;\\%\x01é')),
            max_size=40),
    st.text(max_size=30),  # any Unicode: digits of other scripts, marks, NUL...
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=TYPED)
def test_any_input_is_a_valid_query(app, typed):
    """Whatever is typed, the database runs the query: no FTS or SQL syntax error."""
    with app.app_context():
        search.search(typed, None)
        ids = search.matching_ids(typed, None)
        if ids is not None:
            db.session.execute(ids).all()
        db.session.rollback()


def test_subjects_texts_and_messages_are_found_in_their_word_forms(app, agent, make_ticket):
    first = make_ticket(actor=agent, subject="Заявка на ремонт принтера")
    second = make_ticket(actor=agent, subject="Printer", text="The printers are running hot")
    messages.post(second, "Клиент просит перезвонить завтра", actor=agent)
    assert search.search("заявки", agent) == [first.id]
    assert search.search("принтер", agent) == [first.id]
    assert search.search("printer", agent) == [second.id]
    assert search.search("run", agent) == [second.id]
    assert search.search("перезвоните", agent) == [second.id]
    assert search.search('"просит перезвонить"', agent) == [second.id]
    assert search.search('"перезвонить просит"', agent) == []
    assert search.search("перезв*", agent) == [second.id]
    assert search.search("заявки printer", agent) == []


def test_the_index_follows_edits_and_deletions(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, subject="Broken kettle")
    assert search.search("kettle", agent) == [ticket.id]
    tickets.update(ticket, {"subject": "Broken toaster"}, actor=agent)
    assert search.search("kettle", agent) == []
    assert search.search("toaster", agent) == [ticket.id]
    ident = ticket.id
    with unit_of_work():
        db.session.delete(db.session.get(type(ticket), ident))
    assert search.search("toaster", agent) == []
    assert db.session.query(SearchEntry).filter_by(ticket_id=ident).count() == 0


def test_a_rolled_back_change_leaves_no_entry(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, subject="Stable subject")
    with pytest.raises(RuntimeError), unit_of_work():
        messages.post(ticket, "ephemeral words", actor=agent)
        raise RuntimeError("undo")
    assert search.search("ephemeral", agent) == []
    assert search.search("stable", agent) == [ticket.id]


def test_a_customer_finds_only_their_tickets_and_never_internal_notes(
        app, agent, customer_user, make_ticket):
    other = customers.create({"name": "Someone else"})
    mine = make_ticket(actor=agent, subject="Shared word", customer=customer_user.customer_id)
    theirs = make_ticket(actor=agent, subject="Shared word", customer=other.id)
    messages.post(mine, "secretive remark", actor=agent, internal=True)
    messages.post(mine, "public answer", actor=agent)
    assert search.search("shared", customer_user) == [mine.id]
    assert sorted(search.search("shared", agent)) == sorted([mine.id, theirs.id])
    assert search.search("secretive", customer_user) == []
    assert search.search("secretive", agent) == [mine.id]
    assert search.search("answer", customer_user) == [mine.id]


def test_a_field_hidden_from_customers_is_not_searched_for_them(
        app, agent, customer_user, make_ticket):
    ticket = make_ticket(actor=agent, subject="Visible", customer=customer_user.customer_id,
                         location="Warehouse basement")
    assert search.search("basement", agent) == [ticket.id]
    assert search.search("basement", customer_user) == []  # location: staff only


def test_rebuild_indexes_what_is_there(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, subject="Rebuilt subject")
    messages.post(ticket, "rebuilt message", actor=agent)
    with unit_of_work():
        db.session.execute(text("DELETE FROM search_entries"))
    assert search.search("rebuilt", agent) == []
    with unit_of_work():
        assert search.rebuild(db.session) == (1, 1)
    assert search.search("rebuilt", agent) == [ticket.id]


def test_the_rebuild_command(app, agent, make_ticket):
    make_ticket(actor=agent, subject="Indexed kettle")
    result = app.test_cli_runner().invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 ticket(s) and 0 message(s)." in result.output
    assert search.search("kettle", agent) != []  # ("again": a stop word on PostgreSQL)


def test_what_a_savepoint_undid_is_not_indexed(app, agent):
    with unit_of_work():
        kept = tickets.create({"subject": "Kept alpha"}, actor=agent)
        with pytest.raises(RuntimeError), unit_of_work():
            undone = tickets.create({"subject": "Undone alpha"}, actor=agent)
            messages.post(undone, "alpha note", actor=agent)
            raise RuntimeError("undo")
        messages.post(kept, "alpha reply", actor=agent)
    assert search.search("alpha", agent) == [kept.id]
    assert db.session.query(SearchEntry).count() == 2  # the subject and the reply
