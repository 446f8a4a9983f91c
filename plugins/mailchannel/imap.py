"""Fetching letters from IMAP mailboxes (M1, M5), with IMAPClient.

For each active mailbox with an IMAP account: log in (TLS, STARTTLS or, on a
trusted network, plain), take the letters not yet \\Seen (not \\Deleted), and
for each: ``service.ingest`` commits it first, and only then is it marked
\\Seen (or deleted, if the mailbox says so). A crash between the two fetches it
again next time, and its dedupe key makes that a ``duplicate``: nothing is
lost, nothing taken twice. A letter over the size limit is not downloaded: its
headers are logged as refused. The database being down stops the poll with the
letter left unseen."""

from __future__ import annotations

import logging
import ssl
from collections import Counter

from imapclient import IMAPClient
from sqlalchemy import select

from kernel.db import db, utcnow
from kernel.services.uow import unit_of_work
from plugins.mailchannel import service
from plugins.mailchannel.models import MailMailbox

log = logging.getLogger("hookdesk.mailchannel.imap")
BATCH = 20
TIMEOUT = 30


def connect(mailbox: MailMailbox) -> IMAPClient:
    context = ssl.create_default_context()
    if not mailbox.imap_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client = IMAPClient(mailbox.imap_host, port=mailbox.imap_port,
                        ssl=mailbox.imap_security == "ssl", ssl_context=context,
                        timeout=TIMEOUT)
    if mailbox.imap_security == "starttls":
        client.starttls(context)
    client.login(mailbox.imap_username, mailbox.imap_password)
    return client


def test_connection(mailbox: MailMailbox) -> str:
    """Log in and look at the folder: a sentence for the admin; raises on failure."""
    with connect(mailbox) as client:
        info = client.select_folder(mailbox.imap_folder or "INBOX", readonly=True)
        return f"{int(info.get(b'EXISTS', 0))}"


def poll(mailbox: MailMailbox) -> Counter:
    """Take in the unseen letters of one mailbox; the outcomes counted."""
    outcomes: Counter = Counter()
    limit = service.max_bytes()
    with connect(mailbox) as client:
        client.select_folder(mailbox.imap_folder or "INBOX")
        uids = client.search(["UNSEEN", "NOT", "DELETED"])
        for start in range(0, len(uids), BATCH):
            chunk = uids[start:start + BATCH]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if size > limit:
                    part = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {})
                    head = part.get(b"BODY[HEADER]", b"")
                    outcome = service.refuse(head, size, mailbox)
                else:
                    data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
                    raw = data.get(b"BODY[]")
                    if raw is None:
                        continue  # gone meanwhile (another client expunged it)
                    outcome = service.ingest(raw, mailbox)
                outcomes[outcome.outcome] += 1
                # Committed (or kept in the quarantine): only now off the server's list.
                if mailbox.delete_after:
                    client.delete_messages([uid])
                else:
                    client.add_flags([uid], [b"\\Seen"])
        if mailbox.delete_after and uids:
            client.expunge()
    return outcomes


def poll_all() -> Counter:
    """The periodic job: every active IMAP mailbox; one failing does not stop the
    others, its error is shown on the admin page."""
    total: Counter = Counter()
    ids = db.session.scalars(select(MailMailbox.id).where(MailMailbox.is_active.is_(True))
                             .order_by(MailMailbox.id)).all()
    for mailbox_id in ids:
        mailbox = db.session.get(MailMailbox, mailbox_id)
        if mailbox is None or not mailbox.fetches:
            continue
        error = ""
        try:
            total.update(poll(mailbox))
        except Exception as exc:  # noqa: BLE001 - shown to the admin, retried next minute
            db.session.rollback()
            log.warning("mailbox %s: %s", mailbox.name, exc)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        with unit_of_work():
            mailbox = db.session.get(MailMailbox, mailbox_id)
            if mailbox is not None:
                mailbox.last_polled_at, mailbox.last_error = utcnow(), error
    return total
