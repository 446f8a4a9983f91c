"""``/files/<id>``: a ticket's file for the signed-in person who may see it
(K8). Images and PDFs open in the browser; everything else downloads under its
original name (``filename*`` per RFC 8187 when the name is not plain ASCII)."""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from kernel.errors import NotFound
from kernel.services import attachments
from web.auth import login_required, viewer

bp = Blueprint("files", __name__, url_prefix="/files")

SAFE_INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
# The sandbox keeps scripts in a served file away from the site; Chromium's PDF
# viewer refuses to run in a sandboxed document, so a PDF gets no-fetch rules only.
SANDBOXED = "default-src 'none'; sandbox"
PDF_POLICY = "default-src 'none'; frame-ancestors 'none'"


def file_response(found):
    """The response that serves ``found`` (pages and the API alike): inline for
    images and PDFs, an attachment with the original name for every other type."""
    inline = found.content_type in SAFE_INLINE
    response = send_file(
        attachments.open_blob(found),
        mimetype=found.content_type,
        as_attachment=not inline,
        download_name=found.filename,
        etag=found.sha256,
        max_age=0,
    )
    response.headers["Content-Disposition"] = attachments.content_disposition(
        found.filename, as_attachment=not inline)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        PDF_POLICY if found.content_type == "application/pdf" else SANDBOXED)
    return response


@bp.get("/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    try:
        found = attachments.get(attachment_id, viewer())
    except NotFound:
        abort(404)
    return file_response(found)
