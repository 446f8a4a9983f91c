"""Defect 7 of issue 9, files: a file named ``..`` was kept as ``..`` and broke
``curl -OJ``; nothing limited how many files or bytes one customer stores.
Names are made safe when stored and again when served (RFC 6266, ``filename*``
for non-ASCII); the count per message and per customer and a customer's bytes
are limited (configurable), with an error naming the field."""

import io
import os
import re
from urllib.parse import unquote

import pytest

from kernel.db import db
from kernel.errors import TooLarge, ValidationFailed
from kernel.models import Attachment
from kernel.services import attachments, customers, messages, tickets, tokens, users
from web.testing import login

NASTY = {
    "..": "file", ".": "file", "": "file", "   ": "file", "...": "file",
    "../../etc/passwd": "passwd", "..\\..\\boot.ini": "boot.ini", "/abs/path.txt": "path.txt",
    ".htaccess": "file.htaccess", ".txt": "file.txt", "a\x00b\x1b[31m.txt": "ab[31m.txt",
    "report\u202egpj.exe": "reportgpj.exe", "con.txt": "file-con.txt", "NUL": "file-NUL",
    "line\nbreak.txt": "line break.txt", "trailing. . .": "trailing",
    "x" * 300 + ".pdf": "x" * 196 + ".pdf",
    "отчёт за май.pdf": "отчёт за май.pdf", 'a<b>:c"d|e?f*g.txt': "abcdefg.txt",
}
# What curl -OJ accepts as a file name to write in the current folder.
CURL_SAFE = re.compile(r"[A-Za-z0-9_(\[][A-Za-z0-9 _.+()\[\],-]*")


def _upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name)


def _disposition(response) -> tuple[str, str | None]:
    header = response.headers["Content-Disposition"]
    plain = re.search(r'filename="([^"]*)"', header).group(1)
    star = re.search(r"filename\*=UTF-8''([^;]+)", header)
    return plain, unquote(star.group(1)) if star else None


@pytest.fixture
def buyer(app):
    return users.create({"email": "quota@test.example", "password": "buyer-pass-1",
                         "kind": "customer", "name": "Quota Buyer"})


@pytest.fixture
def own_ticket(app, buyer):
    return tickets.create({"subject": "Files"}, actor=buyer)


@pytest.mark.parametrize("name, safe", list(NASTY.items()))
def test_safe_filename(name, safe):
    assert attachments.safe_filename(name) == safe
    header = attachments.content_disposition(name)
    plain = re.search(r'filename="([^"]*)"', header).group(1)
    assert CURL_SAFE.fullmatch(plain), (name, header)
    assert len(attachments.safe_filename(name).encode()) <= attachments.MAX_FILENAME_BYTES


def test_names_are_safe_through_every_door(app, client, agent, buyer, own_ticket):
    customer_token = {"Authorization": f"Bearer {tokens.create(buyer, 't')[1]}"}
    agent_token = {"Authorization": f"Bearer {tokens.create(agent, 't')[1]}"}
    through_http = ["..", ".", "../../etc/passwd", ".htaccess", ".txt", "con.txt",
                    "report\u202egpj.exe", "x" * 300 + ".pdf", "отчёт за май.pdf"]
    for index, name in enumerate(through_http):
        safe = NASTY[name]
        data = {"file": (io.BytesIO(f"bytes {index}".encode()), name)}
        response = client.post(f"/api/v1/tickets/{own_ticket.number}/attachments",
                               data=data, headers=customer_token,
                               content_type="multipart/form-data")
        assert response.status_code == 201, (name, response.get_json())
        body = response.get_json()
        assert body["filename"] == safe
        for headers in (customer_token, agent_token):
            download = client.get(f"/api/v1/attachments/{body['id']}", headers=headers)
            plain, star = _disposition(download)
            assert CURL_SAFE.fullmatch(plain), (name, plain)
            assert (star or plain) == body["filename"]
    login(client, buyer)
    files = {"files": [(io.BytesIO(b"portal bytes"), ".."),
                       (io.BytesIO(b"more"), "../../.ssh/authorized_keys")]}
    response = client.post(f"/portal/tickets/{own_ticket.id}/reply",
                           data={"body": "two files", **files},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    names = [a.filename for a in db.session.scalars(db.select(Attachment)
                                                    .order_by(Attachment.id.desc()).limit(2))]
    assert sorted(names) == ["authorized_keys", "file"]
    newest = db.session.scalar(db.select(Attachment).order_by(Attachment.id.desc()))
    assert CURL_SAFE.fullmatch(_disposition(client.get(f"/files/{newest.id}"))[0])


def test_a_stored_bad_name_is_still_served_safely(app, client, buyer, own_ticket):
    attachment = attachments.attach(own_ticket, _upload(b"old row", "x.txt"), actor=buyer)
    attachment.filename = ".."  # a row from before names were cleaned
    db.session.commit()
    login(client, buyer)
    assert _disposition(client.get(f"/files/{attachment.id}")) == ("file", None)


# -- counts and bytes ------------------------------------------------------------------


@pytest.mark.app_config(HOOKDESK_MAX_FILES_PER_MESSAGE=2)
def test_files_per_message(app, client, agent, buyer, own_ticket):
    three = [_upload(f"f{i}".encode(), f"f{i}.txt") for i in range(3)]
    before = db.session.scalar(db.select(db.func.count(Attachment.id)))
    with pytest.raises(ValidationFailed) as refused:
        messages.post(own_ticket, "three files", actor=buyer, files=three)
    assert "file" in refused.value.errors and "At most 2 files" in refused.value.errors["file"][0]
    with pytest.raises(ValidationFailed):
        tickets.create({"subject": "Three"}, actor=buyer,
                       files=[_upload(f"n{i}".encode(), f"n{i}.txt") for i in range(3)])
    # Nothing half-written:
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == before
    messages.post(own_ticket, "two files", actor=buyer,
                  files=[_upload(f"ok{i}".encode(), f"ok{i}.txt") for i in range(2)])
    # The portal form shows the refusal on the files field.
    login(client, buyer)
    response = client.post(f"/portal/tickets/{own_ticket.id}/reply", data={
        "body": "again", "files": [(io.BytesIO(f"p{i}".encode()), f"p{i}.txt") for i in range(3)]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    # The agent page's upload button is limited the same way.
    users.update_preferences(agent, {"locale": "en"}, actor=agent)
    login(client, agent)
    response = client.post(f"/agent/tickets/{own_ticket.id}/files", data={
        "files": [(io.BytesIO(f"a{i}".encode()), f"a{i}.txt") for i in range(3)]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "At most 2 files can be uploaded at once." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == before + 2


@pytest.mark.app_config(HOOKDESK_MAX_FILES_PER_CUSTOMER=3)
def test_files_per_customer_across_accounts_and_doors(app, client, buyer, own_ticket, agent):
    second = users.create({"email": "second@test.example", "password": "buyer-pass-2",
                           "kind": "customer", "customer_id": buyer.customer_id})
    attachments.attach(own_ticket, _upload(b"1", "1.txt"), actor=buyer)
    attachments.attach(own_ticket, _upload(b"2", "2.txt"), actor=second)
    token = {"Authorization": f"Bearer {tokens.create(second, 't')[1]}"}
    ok = client.post(f"/api/v1/tickets/{own_ticket.number}/attachments",
                     data={"file": (io.BytesIO(b"3"), "3.txt")}, headers=token,
                     content_type="multipart/form-data")
    assert ok.status_code == 201
    refused = client.post(f"/api/v1/tickets/{own_ticket.number}/attachments",
                          data={"file": (io.BytesIO(b"4"), "4.txt")}, headers=token,
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "at most 3 files" in refused.get_json()["errors"]["file"][0]
    with pytest.raises(ValidationFailed):
        attachments.attach(own_ticket, _upload(b"5", "5.txt"), actor=buyer)
    # Staff files do not count against the customer, and staff have no such limit.
    attachments.attach(own_ticket, _upload(b"staff", "staff.txt"), actor=agent)
    other = customers.create({"name": "Other"})
    stranger = users.create({"email": "other@test.example", "password": "buyer-pass-3",
                             "kind": "customer", "customer_id": other.id})
    ticket = tickets.create({"subject": "Mine"}, actor=stranger)
    attachments.attach(ticket, _upload(b"6", "6.txt"), actor=stranger)


@pytest.mark.app_config(HOOKDESK_CUSTOMER_QUOTA_BYTES=100)
def test_customer_byte_quota(app, client, buyer, own_ticket):
    root = app.config["HOOKDESK_ATTACHMENTS_DIR"]

    def stored():
        return sorted(os.path.join(d, f) for d, _s, fs in os.walk(root) for f in fs)

    attachments.attach(own_ticket, _upload(b"a" * 60, "a.bin"), actor=buyer)
    files_before = stored()
    with pytest.raises(TooLarge) as refused:
        attachments.attach(own_ticket, _upload(b"b" * 60, "b.bin"), actor=buyer)
    assert "quota" in refused.value.errors["file"][0]
    assert stored() == files_before  # the refused bytes were not kept
    token = {"Authorization": f"Bearer {tokens.create(buyer, 't')[1]}"}
    response = client.post(f"/api/v1/tickets/{own_ticket.number}/attachments",
                           data={"file": (io.BytesIO(b"c" * 60), "c.bin")}, headers=token,
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "quota" in response.get_json()["errors"]["file"][0]
    attachments.attach(own_ticket, _upload(b"d" * 40, "d.bin"), actor=buyer)  # fits exactly
    with pytest.raises(TooLarge):
        attachments.attach(own_ticket, _upload(b"e", "e.bin"), actor=buyer)
