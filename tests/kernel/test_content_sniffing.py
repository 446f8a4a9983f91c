"""Attachments get the type their bytes have, not the one the client claimed (K8)."""

import io

import pytest

from kernel.services import attachments

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
       b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


class Upload(io.BytesIO):
    def __init__(self, data, filename, mimetype):
        super().__init__(data)
        self.filename, self.mimetype = filename, mimetype


@pytest.mark.parametrize(("data", "name", "claimed", "expected"), [
    (PNG, "photo.png", "image/png", "image/png"),
    (PNG, "photo.txt", "text/plain", "image/png"),
    (b"<script>alert(1)</script>", "page.html", "text/html", "text/plain"),
    (b"<svg onload=alert(1)>", "x.svg", "image/svg+xml", "text/plain"),
    ("Акт приёмки, кв. 12".encode(), "act.csv", "text/csv", "text/csv"),
    (b"\x00\x01\xfe\xff" * 10, "evil.png", "image/png", "application/octet-stream"),
    (b"%PDF-1.4\n%...", "plan.pdf", "application/pdf", "application/pdf"),
])
def test_type_comes_from_content(app, agent, make_ticket, data, name, claimed, expected):
    ticket = make_ticket(actor=agent)
    found = attachments.attach(ticket, Upload(data, name, claimed), actor=agent)
    assert found.content_type == expected
