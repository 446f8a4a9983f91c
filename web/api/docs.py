"""The browsable API page: Swagger UI served from the ``swagger-ui-bundle``
package (nothing third-party is copied into this repository)."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, send_from_directory

from web.security import API_DOCS_POLICY

bp = Blueprint("api_docs", __name__)


def _assets_dir() -> str:
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


@bp.get("/docs")
def page():
    response = make_response(render_template("api/docs.html"))
    # Swagger UI's own scripts and styles, from this site only; never in a frame.
    response.headers["Content-Security-Policy"] = API_DOCS_POLICY
    return response


@bp.get("/docs/assets/<path:name>")
def assets(name: str):
    if name not in {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png"}:
        abort(404)
    return send_from_directory(_assets_dir(), name, max_age=86400)
