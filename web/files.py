"""``/files/<id>``: a ticket's file for the signed-in person who may see it
(K8). Images open in the browser; everything else downloads."""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from kernel.errors import NotFound
from kernel.services import attachments
from web.auth import login_required, viewer

bp = Blueprint("files", __name__, url_prefix="/files")

SAFE_INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@bp.get("/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    try:
        found = attachments.get(attachment_id, viewer())
    except NotFound:
        abort(404)
    response = send_file(
        attachments.open_blob(found),
        mimetype=found.content_type,
        as_attachment=found.content_type not in SAFE_INLINE,
        download_name=found.filename,
        etag=found.sha256,
        max_age=0,
    )
    response.headers["Content-Disposition"] = attachments.content_disposition(
        found.filename, as_attachment=found.content_type not in SAFE_INLINE)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
