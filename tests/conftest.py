"""Fixtures come from the shipped pytest plugin ``kernel.testing`` (entry point
``pytest11``), the same ones third-party plugin authors use; page and e-mail
helpers (CSRF-aware test client, ``login``, the loopback SMTP ``mailbox``)
from ``web.testing``."""

pytest_plugins = ["web.testing"]
