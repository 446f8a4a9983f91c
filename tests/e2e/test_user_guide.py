"""The user guide shows the pictures the browser tests take: every picture it
names exists and is small enough to keep in the repository, and every picture
kept is shown."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
MAX_BYTES = 200 * 1024


def test_every_screenshot_in_the_guide_exists_and_is_small():
    guide = (DOCS / "user-guide.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((screenshots/[a-z0-9-]+\.png)\)", guide))
    assert len(shown) >= 15
    kept = {f"screenshots/{p.name}" for p in (DOCS / "screenshots").glob("*.png")}
    assert shown <= kept, f"named in the guide but missing: {sorted(shown - kept)}"
    assert kept <= shown, f"kept but not shown in the guide: {sorted(kept - shown)}"
    for name in kept:
        data = (DOCS / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) <= MAX_BYTES, f"{name} is {len(data) // 1024} KB"
