"""``/files/<id>`` and the API's download: images and PDFs open in place, every
other type downloads under its original name (``filename*`` when not ASCII)."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from werkzeug.datastructures import FileStorage

from kernel.services import attachments
from web.testing import login

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
       b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
       b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
ZIP = b"PK\x03\x04" + b"\x00" * 40


@pytest.mark.parametrize(("data", "name", "disposition"), [
    (PNG, "photo.png", 'inline; filename="photo.png"'),
    (b"%PDF-1.4 contract", "договор.pdf",
     f"inline; filename=\"file.pdf\"; filename*=UTF-8''{quote('договор.pdf')}"),
    (ZIP, "акт приёмки.docx",
     f"attachment; filename=\"file.docx\"; filename*=UTF-8''{quote('акт приёмки.docx')}"),
    (b"plain words", "notes.txt", 'attachment; filename="notes.txt"'),
    (b"<script>alert(1)</script>", "page.html", 'attachment; filename="page.html"'),
])
def test_what_opens_in_place_and_what_downloads(client, make_ticket, customer_user,
                                                data, name, disposition):
    ticket = make_ticket(actor=customer_user, subject="Files")
    stored = attachments.attach(ticket, FileStorage(io.BytesIO(data), filename=name),
                                actor=customer_user)
    login(client, customer_user)
    response = client.get(f"/files/{stored.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
