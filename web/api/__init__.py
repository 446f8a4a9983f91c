"""The REST API (X1): ``/api/v1``, an OpenAPI 3 document at
``/api/v1/openapi.json`` and a browsable page at ``/api/v1/docs``.

Built with flask-smorest: the marshmallow schemas that validate requests also
write the OpenAPI document. Ticket field values are validated by the kernel
with the same field definitions that build the web forms. Plugins add
endpoints with ``hookdesk_register_api_blueprints``; they appear in the same
document.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from web.api import errors

API_PREFIX = "/api/v1"


class HookdeskApi(Api):
    """flask-smorest's Api, but errors outside ``/api/`` stay HTML pages."""

    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self):
        errors.register(self._app)


def init_app(app: Flask) -> Api:
    from kernel import __version__

    app.config.setdefault("API_TITLE", "Hookdesk API")
    app.config.setdefault("API_VERSION", __version__)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Tickets, customers, messages and what plugins add. "
                                "Authenticate with `Authorization: Bearer <token>`."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A personal API token (hookdesk token create)."}}},
        "security": [{"bearer": []}],
    })
    api = HookdeskApi(app)
    from web.api import customers, docs, meta, reports, tickets, tokens

    for blueprint in (tickets.blp, tickets.files_blp, customers.blp, meta.blp, tokens.blp,
                      reports.blp):
        api.register_blueprint(blueprint, url_prefix=API_PREFIX + blueprint.url_prefix)
    for _plugin, blueprints in app.extensions["hookdesk"].collect(
        "hookdesk_register_api_blueprints"
    ):
        for blueprint in blueprints:
            api.register_blueprint(blueprint, url_prefix=API_PREFIX + (blueprint.url_prefix or ""))
    app.register_blueprint(docs.bp, url_prefix=API_PREFIX)
    app.extensions["hookdesk_api"] = api
    return api
