"""Browser tests: the real app served on loopback, driven by a real headless
Chromium through Playwright.

* ``live_server`` — the app from ``web.create_app`` (a migrated and synced SQLite
  file, as ``kernel.testing.build_app`` makes it) served by werkzeug on
  127.0.0.1 on a free port in a thread. E-mail goes to the real loopback SMTP
  server of ``web.testing`` (``live_server.mailbox``), jobs run at once
  (``memory://``) and ``HOOKDESK_BASE_URL`` is the live URL, so links in
  letters open in the browser. ``live_server.db()`` is an app context for
  preparing data through the services. A request that raised fails the test.
* ``browser`` (one Chromium for the session) and ``page`` (a fresh context per
  test: 1280x800, Russian ``Accept-Language``, ``base_url`` = the live server).
* ``shot(page, name, phone=False, full_page=False, top=True)`` — a screenshot
  for ``docs/user-guide.md``, scrolled to the top unless ``top=False``.
  It is always taken; it replaces ``docs/screenshots/<name>.png`` only when
  ``HOOKDESK_SCREENSHOTS=1`` (so ``make test`` leaves the checkout clean),
  otherwise it goes to the test's temporary folder. ``phone=True`` adds
  ``<name>-phone.png`` 375 pixels wide, and fails when the page is wider than
  the phone's screen (it would scroll sideways).

Chromium is Debian's ``chromium`` package (``/usr/bin/chromium``, or the path
in ``HOOKDESK_CHROMIUM``): ``playwright install`` is not needed. Without it,
or without the ``playwright`` package, every browser test here is skipped,
saying so (``pytest -m e2e`` runs only these, ``-m "not e2e"`` all but these).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("HOOKDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
HERE = Path(__file__).resolve().parent


def _why_skip() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (f"browser tests need Chromium at {CHROMIUM}: `apt-get install chromium` "
                "(or set HOOKDESK_CHROMIUM to its path)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the `playwright` package: `pip install -e '.[dev]'`"
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: a browser test (real Chromium on the live app)")


def pytest_collection_modifyitems(config, items):
    reason = _why_skip()
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if reason and "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=reason))


# -- the live server ---------------------------------------------------------------


class LiveServer:
    def __init__(self, app, server, mailbox):
        self.app = app
        self.server = server
        self.mailbox = mailbox
        self.url = f"http://127.0.0.1:{server.server_port}"
        self.errors: list[BaseException] = []

    @contextmanager
    def db(self) -> Iterator[None]:
        """An app context in the test's thread; the session is closed on exit, so
        the objects it loaded are detached: take what you need inside."""
        from kernel.db import db

        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def user(self, email: str, password: str, *, name: str = "", role: str | None = None,
             locale: str = "ru", **extra) -> int:
        """An agent (``role="agent"``/``"admin"``) or a customer (no role); its id."""
        from kernel.services import users

        values = {"email": email, "password": password, "name": name, "locale": locale, **extra}
        if role:
            values["roles"] = [role]
        else:
            values["kind"] = "customer"
        with self.db():
            return users.create(values).id

    def path(self, url: str) -> str:
        """The path (and query) of an absolute URL on this server, e.g. from a letter."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(request, tmp_path, smtp_server) -> Iterator[LiveServer]:
    """Options for one test: ``@pytest.mark.app_config(HOOKDESK_REGISTRATION="password")``."""
    from flask import got_request_exception
    from werkzeug.serving import make_server

    from kernel.testing import build_app

    port = _free_port()
    marker = request.node.get_closest_marker("app_config")
    app = build_app(tmp_path, None, {
        "HOOKDESK_MAIL_URL": smtp_server.url,
        "HOOKDESK_QUEUE_URL": "memory://",
        "HOOKDESK_BASE_URL": f"http://127.0.0.1:{port}",
        "HOOKDESK_DEFAULT_TIMEZONE": "Europe/Moscow",
        # Journeys read each letter as it comes; a reply within a minute of the
        # first letter would otherwise wait for the coalescing window (60 s).
        "HOOKDESK_MAIL_COALESCE_SECONDS": 0,
        # Errors become 500 pages, as in production; they are recorded below.
        "TESTING": False,
        **(marker.kwargs if marker else {}),
    })
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    live = LiveServer(app, server, smtp_server)

    def record(sender, exception, **extra):
        live.errors.append(exception)

    got_request_exception.connect(record, app, weak=False)
    smtp_server.clear()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server",
                              daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(5)
        got_request_exception.disconnect(record, app)
        smtp_server.clear()
        from kernel.db import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not live.errors, f"the server failed while serving the test: {live.errors!r}"


# -- the browser -------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    reason = _why_skip()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP,
                                  locale="ru-RU", timezone_id="Europe/Moscow")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    try:
        yield tab
    finally:
        context.close()
    assert not problems, problems


@pytest.fixture
def shot(request, tmp_path):
    """``shot(page, name, ...)`` — see the module's docstring."""
    target = SCREENSHOTS if os.environ.get("HOOKDESK_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, phone: bool = False, full_page: bool = False,
             top: bool = True) -> Path:
        assert re.fullmatch(r"[a-z0-9-]+", name), name
        if top:
            page.evaluate("window.scrollTo(0, 0)")
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 1000
        if phone:
            size = page.viewport_size
            page.set_viewport_size(PHONE)
            try:
                if top:
                    page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(target / f"{name}-phone.png"))
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], (
                    f"{page.url} is {width}px wide on a {PHONE['width']}px phone screen")
            finally:
                page.set_viewport_size(size)
        return path

    return take
