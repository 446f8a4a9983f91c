"""What the orders plugin's tests share besides fixtures: a small PDF upload."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def pdf(name="invoice.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(PDF), filename=name, content_type="application/pdf")
