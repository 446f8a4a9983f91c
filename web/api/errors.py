"""One JSON error shape for the whole API::

    {"status": 422, "title": "Invalid input", "detail": "...",
     "errors": {"values.subject": ["This field is required."]}}

Kernel refusals map to their status (404, 403, 409, 413, 422); request parsing
errors from webargs become 422 with per-field messages; a malformed body is 400;
a rate limit is 429 with ``Retry-After`` (seconds).
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from kernel.errors import HookdeskError, TooLarge, ValidationFailed


class ErrorSchema(Schema):
    status = fields.Integer(required=True)
    title = fields.String(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
}


def problem(status: int, detail: str = "", errors: dict | None = None, headers=None):
    body = {"status": status, "title": TITLES.get(status, "Error")}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = {str(k): [str(m) for m in v] for k, v in errors.items()}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten(messages, prefix="") -> dict[str, list[str]]:
    """webargs nests messages by location and field: make dotted keys."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if key not in ("json", "query", "form", "files", "headers") else ""
            flat.update(_flatten(value, f"{prefix}.{name}".strip(".") if name else prefix))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = messages
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            flat.update(_flatten(item, f"{prefix}.{index}".strip(".")))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _is_api() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    @app.errorhandler(HookdeskError)
    def kernel_error(exc: HookdeskError):
        if not _is_api():
            from web.errors import html_error

            return html_error(exc)
        if isinstance(exc, ValidationFailed):
            status = 413 if isinstance(exc, TooLarge) else 422
            return problem(status, exc.message, exc.errors)
        return problem(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _is_api():
            from web.errors import html_error

            return html_error(exc)
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        errors = _flatten(messages) if messages else None
        detail = data.get("message") or exc.description or ""
        if exc.code == 422 and errors:
            detail = "Some fields are invalid."
        if exc.code == 413:
            detail = "The request body is larger than the upload limit."
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        return problem(exc.code or 500, detail, errors, headers)
