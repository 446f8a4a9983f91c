"""A loopback server speaking Asterisk's Manager Interface, enough for the
telephony tests: the banner, Login (with a user and secret), Ping, Originate
(recorded and answered "successfully queued"), and events pushed to every
logged-in session. It runs its own event loop in a thread on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading

EOL = "\r\n"


def message(**headers) -> bytes:
    return (EOL.join(f"{k}: {v}" for k, v in headers.items()) + EOL + EOL).encode()


class AMIServer:
    def __init__(self, username: str = "hookdesk", secret: str = "ami-secret"):
        self.username, self.secret = username, secret
        self.actions: list[dict[str, str]] = []
        self.sessions: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> AMIServer:
        self._thread.start()
        assert self._ready.wait(5), "the AMI server did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()

    # -- protocol --------------------------------------------------------------------
    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        writer.write(b"Asterisk Call Manager/5.0.1" + EOL.encode())
        await writer.drain()
        buffer = ""
        try:
            while True:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                buffer += chunk.decode()
                while EOL + EOL in buffer:
                    raw, buffer = buffer.split(EOL + EOL, 1)
                    action = {}
                    for line in raw.split(EOL):
                        key, _, value = line.partition(":")
                        if key.strip():
                            action[key.strip().lower()] = value.strip()
                    await self._answer(action, writer)
        finally:
            if writer in self.sessions:
                self.sessions.remove(writer)
            writer.close()

    async def _answer(self, action: dict[str, str], writer: asyncio.StreamWriter) -> None:
        self.actions.append(action)
        name, ident = action.get("action", "").lower(), action.get("actionid", "")
        if name == "login":
            if (action.get("username"), action.get("secret")) == (self.username, self.secret):
                writer.write(message(Response="Success", ActionID=ident,
                                     Message="Authentication accepted"))
                writer.write(message(Event="FullyBooted", Privilege="system,all",
                                     Status="Fully Booted"))
                self.sessions.append(writer)
            else:
                writer.write(message(Response="Error", ActionID=ident,
                                     Message="Authentication failed"))
        elif name == "originate":
            writer.write(message(Response="Success", ActionID=ident,
                                 Message="Originate successfully queued"))
        elif name == "ping":
            writer.write(message(Response="Success", ActionID=ident, Ping="Pong"))
        else:
            writer.write(message(Response="Error", ActionID=ident, Message="Invalid/unknown"))
        await writer.drain()

    # -- for tests -------------------------------------------------------------------
    def push(self, *events: dict[str, str]) -> None:
        """Send events to every logged-in session."""

        async def send():
            for writer in list(self.sessions):
                for event in events:
                    writer.write(message(**event))
                await writer.drain()

        asyncio.run_coroutine_threadsafe(send(), self.loop).result(5)

    def wait_for_session(self, timeout: float = 5.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while not self.sessions and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.sessions, "nobody logged in to the AMI server"
