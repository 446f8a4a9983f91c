"""``hookdesk mail serve``: an LMTP (or SMTP) receiver an MTA hands letters to
(M1). Each recipient must be the address of an active mailbox (else 550); the
letter goes through ``service.ingest`` and the MTA gets 250 only once it is
committed (a ticket, a reply, a review, a quarantine entry...). A letter over
the size limit gets 552; the database being down, 451 (the MTA tries again).

aiosmtpd runs the protocol; the database work runs in a worker thread with the
Flask app context, so a slow commit does not stall other connections."""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

log = logging.getLogger("hookdesk.mailchannel.receiver")


class Handler:
    def __init__(self, app):
        self.app = app

    def _in_app(self, func, *args):
        with self.app.app_context():
            from kernel.db import db

            try:
                return func(*args)
            finally:
                db.session.remove()

    async def _run(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(None, self._in_app, func, *args)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        from plugins.mailchannel import service

        found = await self._run(lambda: service.mailbox_for(address) is not None)
        if not found:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        answers = []
        for address in envelope.rcpt_tos:
            try:
                outcome = await self._run(_deliver, raw, address)
            except Exception:  # noqa: BLE001 - the MTA keeps the letter and tries again
                log.exception("letter for %s not taken in", address)
                answers.append("451 4.3.0 Temporary failure, try again later")
                continue
            if outcome.refused:
                answers.append(f"552 5.3.4 {outcome.detail}")
            else:
                answers.append(f"250 2.0.0 {outcome.outcome}")
        # LMTP answers once per recipient; SMTP once for the letter.
        if isinstance(server, LMTP):
            return "\r\n".join(answers)
        return answers[0] if len(set(answers)) == 1 else next(
            (a for a in answers if a.startswith("451")), answers[0])


def _deliver(raw: bytes, address: str):
    from plugins.mailchannel import service

    return service.ingest(raw, service.mailbox_for(address))


class _Controller(Controller):
    def __init__(self, handler, lmtp: bool, data_size_limit: int, **kwargs):
        self.lmtp = lmtp
        self.data_size_limit = data_size_limit
        super().__init__(handler, **kwargs)

    def factory(self):
        cls = LMTP if self.lmtp else SMTP
        return cls(self.handler, data_size_limit=self.data_size_limit, enable_SMTPUTF8=True,
                   decode_data=False, hostname=self.hostname)


def start(app, host: str = "127.0.0.1", port: int = 2424, lmtp: bool = True) -> Controller:
    """Start the receiver in a background thread; ``.stop()`` ends it."""
    with app.app_context():
        from plugins.mailchannel import service

        limit = service.max_bytes()
    controller = _Controller(Handler(app), lmtp=lmtp, data_size_limit=limit, hostname=host,
                             port=port)
    controller.start()
    return controller
