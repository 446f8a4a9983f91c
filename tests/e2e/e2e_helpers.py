"""What the browser journeys share: signing in and out, reading letters."""

from __future__ import annotations


def log_in(page, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    assert "/auth/login" not in page.url, page.inner_text("main")


def log_out(page) -> None:
    page.click(".user-menu summary")
    page.click(".user-menu__panel form button[type=submit]")
    page.wait_for_url("**/auth/login")


def letter(mailbox, address: str, count: int = 1, timeout: float = 10.0):
    """The ``count``-th letter to ``address`` (waits for it)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mailbox.to(address)
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.05)
    raise AssertionError(f"no letter #{count} to {address}; got {len(mailbox.to(address))}")


def link_in(mailbox, message, fragment: str) -> str:
    """The one link in ``message`` whose URL contains ``fragment``."""
    links = [u for u in mailbox.links(message) if fragment in u]
    assert len(links) == 1, (fragment, mailbox.text(message))
    return links[0]
