"""Configuration from the environment (``HOOKDESK_*``) and an optional instance file.

Every option is listed, with its default, in ``docs/integrator-guide.md``.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

# name -> (default, parser). Defaults that depend on the instance folder are None here.
OPTIONS: dict[str, tuple[Any, Any]] = {
    "HOOKDESK_DATABASE_URL": (None, str),
    "HOOKDESK_PLUGINS": (None, str),
    "HOOKDESK_SECRET_KEY": (None, str),
    "HOOKDESK_ATTACHMENTS_DIR": (None, str),
    "HOOKDESK_MAX_ATTACHMENT_BYTES": (20 * 1024 * 1024, int),
    "HOOKDESK_DEFAULT_REGION": ("RU", str),
    "HOOKDESK_DEFAULT_LOCALE": ("ru", str),
    "HOOKDESK_DEFAULT_TIMEZONE": ("Europe/Moscow", str),
    "HOOKDESK_BASE_URL": ("http://127.0.0.1:5000", str),
    "HOOKDESK_NUMBERING_VARIABLES": ("", lambda v: tuple(x.strip() for x in v.split(",") if x)),
    "HOOKDESK_QUEUE_URL": (None, str),
    "HOOKDESK_TRIGGERS_MAX_DEPTH": (5, int),
    "HOOKDESK_TRIGGERS_KEEP_RUNS_DAYS": (90, int),
    # Storms, outgoing calls and quotas (docs/security.md).
    "HOOKDESK_TRIGGERS_MAX_ACTIONS": (50, int),
    "HOOKDESK_MAIL_COALESCE_SECONDS": (60, int),
    "HOOKDESK_MAIL_MAX_PER_HOUR": (30, int),
    "HOOKDESK_WEBHOOK_ALLOW": ("", str),
    "HOOKDESK_MAX_FILES_PER_MESSAGE": (20, int),
    "HOOKDESK_MAX_FILES_PER_CUSTOMER": (2000, int),
    "HOOKDESK_CUSTOMER_QUOTA_BYTES": (1024 * 1024 * 1024, int),
    "HOOKDESK_PASSWORD_HASH": ("scrypt", str),
    "HOOKDESK_SQL_ECHO": (False, lambda v: str(v).lower() in ("1", "true", "yes")),
    "HOOKDESK_SITE_NAME": ("Hookdesk", str),
    "HOOKDESK_MAIL_URL": ("", str),
    "HOOKDESK_MAIL_FROM": ("Hookdesk <noreply@localhost>", str),
    "HOOKDESK_REGISTRATION": ("link", str),
    "HOOKDESK_PASSWORD_LINK_HOURS": (72, int),
    "HOOKDESK_REMEMBER_DAYS": (30, int),
    "HOOKDESK_PROXY_COUNT": (0, int),
    "HOOKDESK_RATELIMIT_ENABLED": (True, lambda v: str(v).lower() in ("1", "true", "yes")),
    "HOOKDESK_RATELIMIT_STORAGE_URL": ("", str),
    "HOOKDESK_RATELIMIT_LOGIN_ACCOUNT": ("10 per 15 minutes", str),
    "HOOKDESK_RATELIMIT_LOGIN_ADDRESS": ("30 per 10 minutes", str),
    "HOOKDESK_RATELIMIT_RESET_ACCOUNT": ("3 per hour", str),
    "HOOKDESK_RATELIMIT_RESET_ADDRESS": ("10 per hour", str),
    "HOOKDESK_RATELIMIT_REGISTER_ADDRESS": ("10 per hour", str),
    "HOOKDESK_RATELIMIT_TOKEN_FAILURES": ("20 per 10 minutes", str),
    "HOOKDESK_RATELIMIT_PUBLIC_FORM": ("30 per hour", str),
    "HOOKDESK_CONTENT_SECURITY_POLICY": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        str,
    ),
}


def from_environment(instance_path: str, overrides: dict[str, Any] | None = None) -> dict:
    """Options from defaults < instance file (``hookdesk.cfg``) < environment < overrides."""
    values: dict[str, Any] = {name: default for name, (default, _p) in OPTIONS.items()}
    cfg_file = os.environ.get("HOOKDESK_CONFIG") or os.path.join(instance_path, "hookdesk.cfg")
    if os.path.exists(cfg_file):
        scope: dict[str, Any] = {}
        with open(cfg_file, encoding="utf-8") as fh:
            exec(compile(fh.read(), cfg_file, "exec"), scope)  # noqa: S102 - operator's own file
        values.update({k: v for k, v in scope.items() if k.startswith("HOOKDESK_")})
    for name, (_default, parse) in OPTIONS.items():
        if name in os.environ:
            values[name] = parse(os.environ[name])
    values.update(overrides or {})
    if not values["HOOKDESK_DATABASE_URL"]:
        values["HOOKDESK_DATABASE_URL"] = "sqlite:///" + os.path.join(instance_path, "hookdesk.db")
    if not values["HOOKDESK_ATTACHMENTS_DIR"]:
        values["HOOKDESK_ATTACHMENTS_DIR"] = os.path.join(instance_path, "attachments")
    if not values["HOOKDESK_SECRET_KEY"]:
        values["HOOKDESK_SECRET_KEY"] = _instance_secret(instance_path)
    return values


def _instance_secret(instance_path: str) -> str:
    """A random key kept in the instance folder, so sessions survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    if os.path.exists(path):
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    os.makedirs(instance_path, exist_ok=True)
    key = secrets.token_hex(32)
    with open(path, "w", encoding="ascii") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key
