"""Errors the service layer raises. Each names the field and the problem, so the
web pages, the API and the CLI can all show the same clear message."""

from __future__ import annotations

from collections.abc import Mapping


class HookdeskError(Exception):
    """Base of every refusal the kernel raises on purpose."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(HookdeskError):
    """Bad input. ``errors`` maps a field key (or ``_schema``) to its messages."""

    status = 422

    def __init__(self, errors: Mapping[str, list[str] | str]):
        normalized: dict[str, list[str]] = {}
        for key, value in errors.items():
            if isinstance(value, str):
                normalized.setdefault(key, []).append(value)
            elif isinstance(value, Mapping):  # nested marshmallow errors
                for sub, msgs in value.items():
                    normalized.setdefault(f"{key}.{sub}", []).extend(
                        msgs if isinstance(msgs, list) else [str(msgs)]
                    )
            else:
                normalized.setdefault(key, []).extend(str(v) for v in value)
        self.errors = normalized
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(normalized.items()))
        super().__init__(f"Invalid input — {summary}")


class TransitionRefused(HookdeskError):
    status = 409

    def __init__(self, message: str, from_status: str | None = None, to_status: str | None = None):
        super().__init__(message)
        self.from_status = from_status
        self.to_status = to_status


class NotFound(HookdeskError):
    status = 404


class PermissionDenied(HookdeskError):
    status = 403


class Conflict(HookdeskError):
    """The object changed since the caller read it (optimistic concurrency)."""

    status = 409


class TooLarge(ValidationFailed):
    status = 413


class PluginError(Exception):
    """A plugin cannot be loaded or its declarations clash; stops start-up."""
