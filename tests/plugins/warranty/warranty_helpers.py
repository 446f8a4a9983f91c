"""What the warranty plugin's tests share besides fixtures (a module of its own:
every test folder has a ``conftest``, so ``from conftest import`` is ambiguous)."""

from __future__ import annotations

import io


def png_bytes(width: int = 400, height: int = 300, color: str = "white") -> bytes:
    """A real PNG picture, drawn for the test."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(image).rectangle([10, 10, width - 10, height - 10], outline="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
