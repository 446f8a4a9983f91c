"""K8: files of any type, size-limited, stored once per content outside the
database, and served only to those allowed to see them."""

import os

import pytest

from kernel import signals
from kernel.db import db
from kernel.errors import NotFound, TooLarge
from kernel.models import Attachment, Role
from kernel.services import attachments, history, messages, tickets, users
from kernel.services.uow import unit_of_work

EVERY_BYTE = bytes(range(256)) * 4


def stored_files(app):
    root = app.config["HOOKDESK_ATTACHMENTS_DIR"]
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _dirs, files in os.walk(root) for f in files)


@pytest.fixture
def other_customer(app):
    return users.create({"email": "other@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other"})


def test_equal_files_are_stored_once_under_their_sha256(app, agent, customer_user,
                                                        make_upload):
    first = tickets.create({"subject": "Drawing"}, actor=customer_user)
    second = tickets.create({"subject": "Same drawing again"}, actor=customer_user)
    a = attachments.attach(first, make_upload(EVERY_BYTE, "plan.dwg"), actor=customer_user)
    b = attachments.attach(second, make_upload(EVERY_BYTE, "copy.dwg"), actor=agent)
    c = attachments.attach(second, make_upload(b"%PDF-1.7 other", "act.pdf"), actor=agent)
    assert a.id != b.id and a.sha256 == b.sha256 != c.sha256
    sha = a.sha256
    assert stored_files(app) == sorted([os.path.join(sha[:2], sha[2:4], sha),
                                        os.path.join(c.sha256[:2], c.sha256[2:4], c.sha256)])
    with attachments.open_blob(b) as fh:
        assert fh.read() == EVERY_BYTE
    assert (a.size, a.filename, b.filename) == (len(EVERY_BYTE), "plan.dwg", "copy.dwg")
    assert c.content_type == "application/pdf"


def test_files_are_named_safely_and_typed(app, agent, make_ticket, make_upload):
    ticket = make_ticket(actor=agent)
    cases = {"../../etc/passwd": "passwd", "C:\\Users\\me\\report.pdf": "report.pdf",
             'bad<name>:"|?*.txt': "badname.txt", "   ": "file", "фото дома.jpg": "фото дома.jpg"}
    for given, expected in cases.items():
        stored = attachments.attach(ticket, make_upload(b"data", given), actor=agent)
        assert stored.filename == expected
    # The claimed type is not trusted: three bytes "PNG" are text, not an image.
    typed = attachments.attach(ticket, make_upload(b"PNG", "x.png", "image/png"), actor=agent)
    assert typed.content_type == "text/plain"


def test_attaching_records_history_and_signals_after_commit(app, agent, make_ticket,
                                                            make_upload):
    ticket = make_ticket(actor=agent)
    seen = []

    def receiver(sender, **kw):
        seen.append(kw["attachment"].filename)

    signals.attachment_added.connect(receiver, weak=False)
    try:
        attachments.attach(ticket, make_upload(b"photo", "wall.jpg"), actor=agent)
    finally:
        signals.attachment_added.disconnect(receiver)
    assert seen == ["wall.jpg"]
    last = history.for_ticket(ticket)[-1]
    assert last.kind == "attachment_added"
    assert last.data["filename"] == "wall.jpg" and last.data["size"] == 5


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=2048)
def test_the_size_limit_comes_from_the_configuration(app, agent, make_ticket, make_upload):
    ticket = make_ticket(actor=agent)
    assert attachments.max_bytes() == 2048
    assert attachments.attach(ticket, make_upload(b"x" * 2048, "ok.bin"), actor=agent)
    with pytest.raises(TooLarge) as failed:
        attachments.attach(ticket, make_upload(b"x" * 2049, "big.bin"), actor=agent)
    assert "2 KB" in failed.value.errors["file"][0]
    assert failed.value.status == 413
    assert len(stored_files(app)) == 1


def test_a_customer_cannot_fetch_another_customers_file(app, customer_user, other_customer,
                                                        make_upload):
    mine = tickets.create({"subject": "Mine"}, actor=customer_user)
    theirs = tickets.create({"subject": "Theirs"}, actor=other_customer)
    my_file = attachments.attach(mine, make_upload(b"mine", "mine.txt"), actor=customer_user)
    their_file = attachments.attach(theirs, make_upload(b"theirs", "theirs.txt"),
                                    actor=other_customer)
    assert attachments.get(my_file.id, customer_user) is my_file
    for ident in (their_file.id, 99999, -1, "abc", None):
        with pytest.raises(NotFound) as failed:
            attachments.get(ident, customer_user)
        assert failed.value.message == "File not found."  # the same words: nothing leaks
    with pytest.raises(NotFound):
        attachments.for_ticket(theirs, customer_user)
    with pytest.raises(NotFound):  # nor attach to someone else's ticket
        attachments.attach(theirs, make_upload(b"spam", "spam.txt"), actor=customer_user)
    assert [a.id for a in attachments.for_ticket(theirs, other_customer)] == [their_file.id]


def test_internal_files_are_hidden_from_customers(app, agent, customer_user, make_upload):
    ticket = tickets.create({"subject": "Leak"}, actor=customer_user)
    reply = messages.post(ticket, "Here is the act", actor=agent,
                          files=[make_upload(b"act", "act.pdf")])
    note = messages.post(ticket, "Internal estimate", actor=agent, internal=True,
                         files=[make_upload(b"estimate", "estimate.xlsx")])
    public, internal = reply.attachments[0], note.attachments[0]
    assert (public.internal, internal.internal) == (False, True)
    assert public.message_id == reply.id and internal.message_id == note.id
    assert attachments.get(public.id, customer_user) is public
    with pytest.raises(NotFound):
        attachments.get(internal.id, customer_user)
    assert [a.filename for a in attachments.for_ticket(ticket, customer_user)] == ["act.pdf"]
    assert [a.filename for a in attachments.for_ticket(ticket, agent)] == \
        ["act.pdf", "estimate.xlsx"]
    assert attachments.get(internal.id, agent) is internal


def test_internal_files_need_the_notes_permission(app, agent, customer_user, make_upload):
    with unit_of_work():
        db.session.add(Role(key="viewer", name="Viewer", permissions=["tickets.view"]))
    viewer = users.create({"email": "viewer@test.example", "password": "viewer-pass-1",
                           "roles": ["viewer"]})
    ticket = tickets.create({"subject": "Leak"}, actor=customer_user)
    note = attachments.attach(ticket, make_upload(b"secret", "s.txt"), actor=agent,
                              internal=True)
    with pytest.raises(NotFound):
        attachments.get(note.id, viewer)
    assert attachments.for_ticket(ticket, viewer) == []


def test_files_given_with_a_new_ticket_are_attached_in_the_same_change(app, customer_user,
                                                                       make_upload):
    ticket = tickets.create({"subject": "Cracks"}, actor=customer_user,
                            files=[make_upload(b"one", "1.jpg"), make_upload(b"two", "2.jpg")])
    found = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()
    assert [(a.ticket_id, a.filename, a.uploaded_by_id) for a in found] == [
        (ticket.id, "1.jpg", customer_user.id), (ticket.id, "2.jpg", customer_user.id)]
    assert [e.kind for e in history.for_ticket(ticket)] == \
        ["created", "attachment_added", "attachment_added"]
