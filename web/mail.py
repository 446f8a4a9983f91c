"""E-mail from templates, in the recipient's language (P1, P6, X2).

::

    from web.mail import send_mail

    send_mail(user, "auth/reset_password", {"link": link})           # a User
    send_mail("someone@example.com", "orders/stage", {...}, locale="en")

``send_mail`` renders the message now, in the recipient's language and time zone
(a ``User``'s own ``locale``/``timezone``; for a bare address the ``locale``
argument, else ``HOOKDESK_DEFAULT_LOCALE``), and writes it to the outbox
(channel ``email``, see ``kernel.mail``) in the current unit of work — one is
opened when none is. It is sent after the commit, retried while the mail server
is down, and never twice for one idempotency ``key`` (give one when the letter
belongs to a change, e.g. ``f"notify-{event.id}-{address}"``; without it every
call is a new letter). A rolled-back change sends nothing. Returns the
Message-ID, derived from the key.

Templates (in any template folder, plugins' ``templates/<plugin>/mail/`` too)::

    mail/<name>.<locale>.txt    required: {% block subject %} and {% block body %},
                                extending "mail/layout.txt"
    mail/<name>.<locale>.html   optional HTML part, extending "mail/layout.html"

``<locale>`` falls back to ``HOOKDESK_DEFAULT_LOCALE``, then to ``mail/<name>.txt``
(a template that uses ``_()`` for every word). The context always has
``recipient`` (the User or None), ``email``, ``site_name``, ``base_url``, the
``external_url(endpoint, **values)`` function and the date filters of
``web.i18n`` (``|localdt`` shows the recipient's time zone).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import Template

from kernel import mail as transport
from kernel.models import User
from web import i18n


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    locale: str


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on ``HOOKDESK_BASE_URL`` — in requests, jobs and the CLI alike."""
    base = urlsplit(current_app.config["HOOKDESK_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def _candidates(name: str, locale: str, extension: str) -> list[str]:
    default = current_app.config["HOOKDESK_DEFAULT_LOCALE"]
    names = [f"mail/{name}.{locale}.{extension}"]
    if default != locale:
        names.append(f"mail/{name}.{default}.{extension}")
    names.append(f"mail/{name}.{extension}")
    if "/" in name:  # a plugin's template: "<plugin>/<name>" -> "<plugin>/mail/<name>"
        plugin, _, rest = name.partition("/")
        names += [f"{plugin}/mail/{rest}.{locale}.{extension}",
                  f"{plugin}/mail/{rest}.{extension}"]
    return names


def _select(name: str, locale: str, extension: str, required: bool) -> Template | None:
    env = current_app.jinja_env
    names = _candidates(name, locale, extension)
    for candidate in names:
        try:
            return env.get_template(candidate)
        except Exception as exc:  # jinja2.TemplateNotFound, only for this name
            if getattr(exc, "name", None) != candidate:
                raise
    if required:
        raise LookupError(f"no e-mail template for {name!r}; looked for {', '.join(names)}")
    return None


def render_mail(
    template: str,
    context: dict[str, Any] | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    recipient: User | None = None,
) -> Rendered:
    """Render ``template`` in ``locale`` and ``timezone`` (see the module doc)."""
    locale = locale if locale in i18n.LOCALES else current_app.config["HOOKDESK_DEFAULT_LOCALE"]
    values = {
        "recipient": recipient,
        "site_name": current_app.config["HOOKDESK_SITE_NAME"],
        "base_url": current_app.config["HOOKDESK_BASE_URL"].rstrip("/"),
        "external_url": external_url,
        "locale": locale,
        **(context or {}),
    }
    with i18n.use(locale, timezone):
        text_template = _select(template, locale, "txt", required=True)
        assert text_template is not None
        if "subject" not in text_template.blocks:
            raise LookupError(f"{text_template.name}: define {{% block subject %}}")
        subject_ctx = text_template.new_context(dict(values))
        subject = " ".join("".join(text_template.blocks["subject"](subject_ctx)).split())
        text = text_template.render(values).strip() + "\n"
        html_template = _select(template, locale, "html", required=False)
        html = html_template.render({**values, "subject": subject}) if html_template else None
    return Rendered(subject=subject, text=text, html=html, locale=locale)


def send_mail(
    to: User | str,
    template: str,
    context: dict[str, Any] | None = None,
    locale: str | None = None,
    timezone: str | None = None,
    reply_to: str | None = None,
    key: str | None = None,
    ref: str | None = None,
) -> str:
    """Render ``template`` for ``to`` (a User or an address) and put it in the
    outbox under idempotency ``key`` (``ref`` tags the row, e.g. ``ticket:42``);
    returns the Message-ID. A User's own language and time zone win over the
    arguments."""
    recipient = to if isinstance(to, User) else None
    if recipient is not None:
        address = recipient.email
        locale = recipient.locale or locale
        timezone = recipient.timezone or timezone
    else:
        address = str(to)
    rendered = render_mail(template, {"email": address, **(context or {})}, locale, timezone,
                           recipient)
    return transport.put({
        "to": _with_name(address, recipient.name if recipient else ""),
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "locale": rendered.locale,
        "reply_to": reply_to,
    }, key=key or f"mail-{uuid.uuid4().hex}", ref=ref)


def _with_name(address: str, name: str) -> str:
    from email.headerregistry import Address

    if not name:
        return address
    try:
        user, _, domain = address.rpartition("@")
        return str(Address(display_name=name, username=user, domain=domain))
    except (ValueError, IndexError):
        return address
