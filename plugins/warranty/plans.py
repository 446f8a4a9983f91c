"""Apartment floor plans drawn from a few numbers, for the demo data and tests.

A layout is plain data in metres (origin at the top-left corner, ``y`` down):
rectangular rooms that tile the apartment, a balcony outside it, doors, windows
and a few fixtures. :func:`draw_plan` turns it into a PNG that reads like an
architect's drawing — thick outer walls, thin partitions, door leaves with their
swing, windows as double lines, room names with their area and the overall
dimensions. Nothing is random, so the same layout always gives the same bytes.

The lettering is a small stroke font defined below: Pillow's bundled default
font has no Cyrillic glyphs, and no font file is shipped or looked up on the
system, so the picture does not depend on the machine that draws it."""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw

# -- the stroke font --------------------------------------------------------------------
#
# Capitals are drawn in a box 6 units tall (y down: 0 at the top, 6 on the baseline);
# each glyph is ``(advance width, [polyline, ...])``.

CAP = 6.0
LETTER_GAP = 1.1


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float,
         steps: int | None = None) -> list[tuple[float, float]]:
    """Points of an elliptic arc; angles in degrees, counter-clockwise as seen."""
    steps = steps or max(4, round(abs(end - start) / 12))
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
             cy - ry * math.sin(math.radians(start + (end - start) * i / steps)))
            for i in range(steps + 1)]


def _turned(strokes, width: float, height: float = CAP):
    """The strokes turned half a circle (``6`` becomes ``9``)."""
    return [[(width - x, height - y) for x, y in stroke] for stroke in strokes]


def _build_glyphs() -> dict[str, tuple[float, list[list[tuple[float, float]]]]]:
    three = [_arc(2, 1.5, 1.8, 1.5, 150, -90) + _arc(2, 4.5, 2.0, 1.5, 90, -150)]
    six = [_arc(2, 4.1, 1.9, 1.9, 0, 360), _arc(4.2, 4.1, 4.1, 4.1, 100, 180)]
    two = [_arc(2, 1.8, 1.9, 1.8, 165, -25) + [(0, 6), (4, 6)]]
    glyphs: dict[str, tuple[float, list]] = {
        "А": (4, [[(0, 6), (2, 0), (4, 6)], [(0.7, 4), (3.3, 4)]]),
        "Б": (4, [[(3.8, 0), (0, 0), (0, 6)],
                  [(0, 2.8), (2.3, 2.8)] + _arc(2.3, 4.4, 1.6, 1.6, 90, -90) + [(0, 6)]]),
        "В": (4, [[(0, 6), (0, 0), (2.2, 0)] + _arc(2.2, 1.4, 1.5, 1.4, 90, -90) + [(0, 2.8)],
                  [(0, 2.8), (2.4, 2.8)] + _arc(2.4, 4.4, 1.6, 1.6, 90, -90) + [(0, 6)]]),
        "Г": (3.6, [[(3.6, 0), (0, 0), (0, 6)]]),
        "Д": (4.3, [[(0.4, 6), (1.2, 0), (3.6, 0), (3.6, 6)],
                    [(-0.3, 7), (-0.3, 6), (4.3, 6), (4.3, 7)]]),
        "Е": (3.8, [[(3.8, 0), (0, 0), (0, 6), (3.8, 6)], [(0, 3), (3.2, 3)]]),
        "Ж": (5, [[(0, 0), (2.5, 3), (0, 6)], [(5, 0), (2.5, 3), (5, 6)], [(2.5, 0), (2.5, 6)]]),
        "З": (4, three),
        "И": (4, [[(0, 0), (0, 6), (4, 0), (4, 6)]]),
        "Й": (4, [[(0, 0), (0, 6), (4, 0), (4, 6)], _arc(2, -1.4, 1.0, 0.6, 180, 360)]),
        "К": (4, [[(0, 0), (0, 6)], [(3.8, 0), (0, 3.2)], [(1.3, 2.1), (4, 6)]]),
        "Л": (4, [[(0, 6), (0.6, 5.8), (1.0, 4.5), (1.4, 0), (4, 0), (4, 6)]]),
        "М": (4.6, [[(0, 6), (0, 0), (2.3, 4.5), (4.6, 0), (4.6, 6)]]),
        "Н": (4, [[(0, 0), (0, 6)], [(4, 0), (4, 6)], [(0, 3), (4, 3)]]),
        "О": (4.4, [_arc(2.2, 3, 2.2, 3, 0, 360, 36)]),
        "П": (4, [[(0, 6), (0, 0), (4, 0), (4, 6)]]),
        "Р": (4, [[(0, 6), (0, 0), (2.4, 0)] + _arc(2.4, 1.6, 1.6, 1.6, 90, -90) + [(0, 3.2)]]),
        "С": (4.2, [_arc(2.2, 3, 2.2, 3, 50, 310)]),
        "Т": (4, [[(0, 0), (4, 0)], [(2, 0), (2, 6)]]),
        "У": (4, [[(0, 0), (2, 3.9)], [(4, 0), (1.7, 5.2), (1.2, 5.8), (0.4, 6)]]),
        "Ф": (4.4, [_arc(2.2, 3, 2.2, 1.7, 0, 360, 30), [(2.2, 0), (2.2, 6)]]),
        "Х": (4, [[(0, 0), (4, 6)], [(4, 0), (0, 6)]]),
        "Ц": (4.3, [[(0, 0), (0, 6), (3.6, 6)], [(3.6, 0), (3.6, 6), (4.3, 6), (4.3, 7)]]),
        "Ч": (3.8, [[(0, 0), (0, 2), (0.5, 3.0), (1.5, 3.4), (3.8, 3.4)], [(3.8, 0), (3.8, 6)]]),
        "Ш": (4.6, [[(0, 0), (0, 6), (4.6, 6), (4.6, 0)], [(2.3, 0), (2.3, 6)]]),
        "Щ": (5.3, [[(0, 0), (0, 6), (4.6, 6), (4.6, 0)], [(2.3, 0), (2.3, 6)],
                    [(4.6, 6), (5.3, 6), (5.3, 7)]]),
        "Ъ": (4.5, [[(0, 0), (1, 0), (1, 6), (3.0, 6)] + _arc(3.0, 4.4, 1.5, 1.6, -90, 90)
                    + [(1, 2.8)]]),
        "Ы": (4.6, [[(0, 0), (0, 6), (2.0, 6)] + _arc(2.0, 4.4, 1.4, 1.6, -90, 90) + [(0, 2.8)],
                    [(4.6, 0), (4.6, 6)]]),
        "Ь": (4, [[(0, 0), (0, 6), (2.4, 6)] + _arc(2.4, 4.4, 1.6, 1.6, -90, 90) + [(0, 2.8)]]),
        "Э": (4.2, [_arc(2.0, 3, 2.2, 3, 135, -135), [(1.0, 3), (4.2, 3)]]),
        "Ю": (5.2, [[(0, 0), (0, 6)], [(0, 3), (1.4, 3)], _arc(3.3, 3, 1.9, 3, 0, 360, 36)]),
        "Я": (4, [[(4, 6), (4, 0), (1.6, 0)] + _arc(1.6, 1.6, 1.6, 1.6, 90, 270) + [(4, 3.2)],
                  [(2.0, 3.2), (0, 6)]]),
        "0": (4, [_arc(2, 3, 2, 3, 0, 360, 36)]),
        "1": (3, [[(0.5, 1.4), (2.2, 0), (2.2, 6)]]),
        "2": (4, two),
        "3": (4, three),
        "4": (4, [[(3.0, 6), (3.0, 0), (0, 4.2), (4, 4.2)]]),
        "5": (4, [[(3.7, 0), (0.5, 0), (0.3, 2.9)] + _arc(2, 4.1, 2, 1.9, 140, -145)]),
        "6": (4, six),
        "7": (4, [[(0, 0), (4, 0), (1.4, 6)]]),
        "8": (4, [_arc(2, 1.45, 1.6, 1.45, 0, 360, 30), _arc(2, 4.45, 2, 1.55, 0, 360, 30)]),
        "9": (4, _turned(six, 4)),
        ",": (1, [[(0.6, 5.3), (0.6, 6.0), (0.1, 7.0)]]),
        ".": (1, [[(0.4, 5.6), (0.6, 5.6), (0.6, 6), (0.4, 6), (0.4, 5.6)]]),
        "-": (2.6, [[(0.2, 3.4), (2.4, 3.4)]]),
        " ": (2.2, []),
        "м": (3.6, [[(0, 6), (0, 2.2), (1.8, 4.8), (3.6, 2.2), (3.6, 6)]]),
        "²": (2.3, [[(x * 0.55, y * 0.55 - 0.3) for x, y in two[0]]]),
    }
    width_e, strokes_e = glyphs["Е"]
    glyphs["Ё"] = (width_e, [*strokes_e, [(1.0, -1.2), (1.0, -0.7)], [(2.8, -1.2), (2.8, -0.7)]])
    return glyphs


GLYPHS = _build_glyphs()


def text_width(text: str, cap_px: float) -> float:
    """How wide ``text`` is drawn with capitals ``cap_px`` tall."""
    units = sum(GLYPHS[ch][0] for ch in text) + LETTER_GAP * max(0, len(text) - 1)
    return units * cap_px / CAP


def _check_text(text: str, where: str) -> None:
    missing = sorted({ch for ch in text if ch not in GLYPHS})
    if missing:
        raise ValueError(f"{where}: the plan lettering has no glyph for {''.join(missing)!r}.")


def draw_text(draw: ImageDraw.ImageDraw, text: str, center: tuple[float, float], cap_px: float,
              fill: str, stroke_px: float, vertical: bool = False) -> None:
    """Draw ``text`` centred on ``center``; ``vertical``: reading bottom to top."""
    scale = cap_px / CAP
    half_w = text_width(text, cap_px) / 2
    cx, cy = center
    pen = 0.0
    radius = stroke_px / 2
    for ch in text:
        advance, strokes = GLYPHS[ch]
        for stroke in strokes:
            points = []
            for gx, gy in stroke:
                dx = pen + gx * scale - half_w
                dy = gy * scale - cap_px / 2
                points.append((cx + dy, cy - dx) if vertical else (cx + dx, cy + dy))
            draw.line(points, fill=fill, width=max(1, round(stroke_px)), joint="curve")
            for px, py in (points[0], points[-1]):
                draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=fill)
        pen += (advance + LETTER_GAP) * scale


# -- layouts ----------------------------------------------------------------------------
#
# Rooms: ``key`` (for marks), ``name``, ``rect`` (x0, y0, x1, y1) in metres; the rooms
# but the balcony tile the apartment's outline. Doors and windows lie on a wall:
# ``wall`` "h" (horizontal, at y = ``at``) or "v" (vertical, at x = ``at``), from
# ``start`` to ``end`` along it; a door turns on its ``hinge`` end ("start"/"end") and
# opens towards ``opens`` (+1: larger x or y, -1: smaller). Fixtures: ``kind`` and
# ``rect``, plus ``side`` — the wall they stand against ("top", "bottom", "left", "right").

STUDIO: dict[str, Any] = {
    "name": "Студия",
    "rooms": [
        {"key": "bathroom", "name": "Санузел", "rect": (0.0, 0.0, 2.2, 2.2)},
        {"key": "hall", "name": "Прихожая", "rect": (0.0, 2.2, 2.2, 4.8)},
        {"key": "living", "name": "Кухня-гостиная", "rect": (2.2, 0.0, 7.0, 4.8),
         "label_at": (0.5, 0.55)},
        {"key": "balcony", "name": "Балкон", "rect": (3.0, 4.8, 6.6, 5.9), "balcony": True},
    ],
    "doors": [
        {"wall": "v", "at": 0.0, "start": 3.2, "end": 4.1, "hinge": "end", "opens": 1},
        {"wall": "h", "at": 2.2, "start": 0.7, "end": 1.4, "hinge": "end", "opens": 1},
        {"wall": "v", "at": 2.2, "start": 2.9, "end": 3.8, "hinge": "start", "opens": 1},
        {"wall": "h", "at": 4.8, "start": 5.6, "end": 6.3, "hinge": "end", "opens": -1},
    ],
    "windows": [
        {"wall": "h", "at": 4.8, "start": 3.4, "end": 5.2},
        {"wall": "v", "at": 7.0, "start": 3.3, "end": 4.4},
    ],
    "fixtures": [
        {"kind": "bath", "rect": (0.15, 0.15, 0.85, 1.85), "side": "left"},
        {"kind": "toilet", "rect": (1.4, 0.15, 1.95, 0.85), "side": "top"},
        {"kind": "basin", "rect": (1.45, 1.45, 2.05, 2.0), "side": "right"},
        {"kind": "kitchen", "rect": (2.35, 0.15, 5.2, 0.75), "side": "top"},
        {"kind": "sofa", "rect": (6.0, 0.9, 6.85, 3.0), "side": "right"},
        {"kind": "wardrobe", "rect": (0.15, 2.35, 0.75, 3.0), "side": "left"},
    ],
}

ONE_ROOM: dict[str, Any] = {
    "name": "1-комнатная",
    "rooms": [
        {"key": "bathroom", "name": "Санузел", "rect": (0.0, 0.0, 2.1, 2.3)},
        {"key": "hall", "name": "Прихожая", "rect": (2.1, 0.0, 4.3, 2.3),
         "label_at": (0.62, 0.52)},
        {"key": "kitchen", "name": "Кухня", "rect": (0.0, 2.3, 4.3, 5.6),
         "label_at": (0.55, 0.3)},
        {"key": "bedroom", "name": "Спальня", "rect": (4.3, 0.0, 8.4, 5.6),
         "label_at": (0.38, 0.5)},
        {"key": "balcony", "name": "Балкон", "rect": (4.9, 5.6, 8.0, 6.7), "balcony": True},
    ],
    "doors": [
        {"wall": "h", "at": 0.0, "start": 2.7, "end": 3.6, "hinge": "start", "opens": 1},
        {"wall": "v", "at": 2.1, "start": 0.8, "end": 1.5, "hinge": "end", "opens": 1},
        {"wall": "h", "at": 2.3, "start": 3.2, "end": 4.0, "hinge": "end", "opens": 1},
        {"wall": "v", "at": 4.3, "start": 0.6, "end": 1.4, "hinge": "start", "opens": 1},
        {"wall": "h", "at": 5.6, "start": 7.0, "end": 7.7, "hinge": "end", "opens": -1},
    ],
    "windows": [
        {"wall": "h", "at": 5.6, "start": 1.3, "end": 3.0},
        {"wall": "h", "at": 5.6, "start": 5.2, "end": 6.7},
        {"wall": "v", "at": 8.4, "start": 1.4, "end": 3.2},
    ],
    "fixtures": [
        {"kind": "bath", "rect": (0.15, 0.15, 0.85, 1.85), "side": "left"},
        {"kind": "toilet", "rect": (1.35, 0.15, 1.9, 0.85), "side": "top"},
        {"kind": "basin", "rect": (1.3, 1.75, 1.95, 2.15), "side": "bottom"},
        {"kind": "kitchen", "rect": (0.15, 2.45, 0.75, 5.0), "side": "left"},
        {"kind": "table", "rect": (2.6, 4.25, 3.6, 5.05), "side": "bottom"},
        {"kind": "bed", "rect": (6.5, 0.15, 8.25, 2.3), "side": "top"},
        {"kind": "wardrobe", "rect": (4.45, 2.6, 5.05, 4.6), "side": "left"},
    ],
}

TWO_ROOM: dict[str, Any] = {
    "name": "2-комнатная",
    "rooms": [
        {"key": "bathroom", "name": "Санузел", "rect": (0.0, 0.0, 2.2, 2.4)},
        {"key": "hall", "name": "Прихожая", "rect": (2.2, 0.0, 5.4, 2.4)},
        {"key": "closet", "name": "Гардероб", "rect": (5.4, 0.0, 7.6, 2.4)},
        {"key": "kitchen", "name": "Кухня", "rect": (0.0, 2.4, 3.2, 6.4),
         "label_at": (0.6, 0.3)},
        {"key": "living", "name": "Гостиная", "rect": (3.2, 2.4, 7.6, 6.4),
         "label_at": (0.5, 0.45)},
        {"key": "bedroom", "name": "Спальня", "rect": (7.6, 0.0, 10.6, 6.4),
         "label_at": (0.5, 0.36)},
        {"key": "balcony", "name": "Балкон", "rect": (3.6, 6.4, 7.2, 7.5), "balcony": True},
    ],
    "doors": [
        {"wall": "h", "at": 0.0, "start": 3.3, "end": 4.2, "hinge": "start", "opens": 1},
        {"wall": "v", "at": 2.2, "start": 0.8, "end": 1.5, "hinge": "start", "opens": -1},
        {"wall": "h", "at": 2.4, "start": 2.35, "end": 3.1, "hinge": "start", "opens": 1},
        {"wall": "h", "at": 2.4, "start": 4.4, "end": 5.2, "hinge": "end", "opens": 1},
        {"wall": "v", "at": 5.4, "start": 0.8, "end": 1.5, "hinge": "end", "opens": 1},
        {"wall": "v", "at": 7.6, "start": 3.0, "end": 3.8, "hinge": "start", "opens": 1},
        {"wall": "h", "at": 6.4, "start": 6.2, "end": 6.9, "hinge": "end", "opens": -1},
    ],
    "windows": [
        {"wall": "h", "at": 6.4, "start": 0.8, "end": 2.4},
        {"wall": "h", "at": 6.4, "start": 4.0, "end": 5.8},
        {"wall": "h", "at": 6.4, "start": 8.3, "end": 9.9},
        {"wall": "v", "at": 10.6, "start": 1.6, "end": 3.2},
    ],
    "fixtures": [
        {"kind": "bath", "rect": (0.15, 0.15, 0.85, 1.85), "side": "left"},
        {"kind": "toilet", "rect": (1.45, 0.15, 2.0, 0.85), "side": "top"},
        {"kind": "basin", "rect": (1.45, 1.8, 2.05, 2.25), "side": "bottom"},
        {"kind": "wardrobe", "rect": (5.55, 0.15, 7.45, 0.75), "side": "top"},
        {"kind": "kitchen", "rect": (0.15, 2.55, 0.75, 5.4), "side": "left"},
        {"kind": "table", "rect": (1.6, 4.6, 2.7, 5.6), "side": "bottom"},
        {"kind": "sofa", "rect": (3.35, 3.0, 4.2, 5.4), "side": "left"},
        {"kind": "bed", "rect": (8.25, 3.8, 10.45, 6.25), "side": "right"},
        {"kind": "wardrobe", "rect": (7.75, 0.15, 10.45, 0.75), "side": "top"},
    ],
}

LAYOUTS: dict[str, dict[str, Any]] = {"studio": STUDIO, "one_room": ONE_ROOM,
                                      "two_room": TWO_ROOM}

# -- drawing ----------------------------------------------------------------------------

SUPERSAMPLE = 2  # drawn twice as large, then scaled down: smooth lines without noise
OUTER_WALL = 0.32  # metres
INNER_WALL = 0.12
RAILING = 0.1
MARGIN = {"left": 64, "top": 64, "right": 28, "bottom": 28}  # output pixels
MIN_SIZE, MAX_SIZE = 200, 4000

PAPER = "#ffffff"
FLOOR = "#fbf8f1"
WET_FLOOR = "#eef4f7"
TILE = "#d9e4ea"
WALL = "#2b2f33"
LINE = "#3a3f44"
FIXTURE = "#8b949c"
LABEL = "#1f2933"
AREA = "#52606d"
DIMENSION = "#6b7780"
WET_ROOMS = {"bathroom"}


def _rooms(layout: dict[str, Any]) -> list[dict[str, Any]]:
    rooms = layout.get("rooms") if isinstance(layout, dict) else None
    if not rooms:
        raise ValueError("rooms_layout: needs a non-empty list of rooms.")
    for i, room in enumerate(rooms):
        rect = room.get("rect") if isinstance(room, dict) else None
        if (not isinstance(rect, (tuple, list)) or len(rect) != 4
                or not all(isinstance(v, (int, float)) for v in rect)
                or rect[0] >= rect[2] or rect[1] >= rect[3]):
            raise ValueError(f"rooms_layout.rooms.{i}.rect: expected (x0, y0, x1, y1) "
                             "with x0 < x1 and y0 < y1.")
        _check_text(str(room.get("name", "")).upper(), f"rooms_layout.rooms.{i}.name")
    if all(room.get("balcony") for room in rooms):
        raise ValueError("rooms_layout.rooms: needs at least one room that is not a balcony.")
    return rooms


class _Frame:
    """Metres to pixels of the (supersampled) canvas, fitted into the margins."""

    def __init__(self, layout: dict[str, Any], width: int, height: int, factor: int):
        rooms = _rooms(layout)
        inside = [r["rect"] for r in rooms if not r.get("balcony")]
        self.outline = (min(r[0] for r in inside), min(r[1] for r in inside),
                        max(r[2] for r in inside), max(r[3] for r in inside))
        pad = OUTER_WALL / 2
        x0 = min(r["rect"][0] for r in rooms) - pad
        y0 = min(r["rect"][1] for r in rooms) - pad
        x1 = max(r["rect"][2] for r in rooms) + pad
        y1 = max(r["rect"][3] for r in rooms) + pad
        room_w = width - MARGIN["left"] - MARGIN["right"]
        room_h = height - MARGIN["top"] - MARGIN["bottom"]
        self.scale = min(room_w / (x1 - x0), room_h / (y1 - y0)) * factor
        self.factor = factor
        self.left = (MARGIN["left"] + (room_w - (x1 - x0) * self.scale / factor) / 2) * factor
        self.top = (MARGIN["top"] + (room_h - (y1 - y0) * self.scale / factor) / 2) * factor
        self.x0, self.y0 = x0, y0

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.left + (x - self.x0) * self.scale, self.top + (y - self.y0) * self.scale)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        (a, b), (c, e) = self.pt(x0, y0), self.pt(x1, y1)
        return [a, b, c, e]

    def px(self, metres: float) -> float:
        return metres * self.scale


def _check_size(width: Any, height: Any) -> None:
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or not (
                MIN_SIZE <= value <= MAX_SIZE):
            raise ValueError(f"{name}: a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}.")


def _room(layout: dict[str, Any], key: str) -> dict[str, Any]:
    for room in _rooms(layout):
        if room.get("key") == key:
            return room
    raise ValueError(f"room: no room {key!r} in the layout.")


def mark_at(layout: dict[str, Any], room_key: str, fx: float = 0.5, fy: float = 0.5,
            width: int = 900, height: int = 600) -> tuple[float, float]:
    """A point inside room ``room_key`` (``fx``, ``fy``: fractions of the room) as
    fractions of the picture ``draw_plan`` makes — how defects are marked on a plan."""
    _check_size(width, height)
    if not (0 <= fx <= 1 and 0 <= fy <= 1):
        raise ValueError("fx, fy: fractions of the room from 0 to 1.")
    x0, y0, x1, y1 = _room(layout, room_key)["rect"]
    frame = _Frame(layout, width, height, 1)
    px, py = frame.pt(x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy)
    return round(px / width, 4), round(py / height, 4)


def area(room: dict[str, Any]) -> float:
    x0, y0, x1, y1 = room["rect"]
    return round((x1 - x0) * (y1 - y0), 1)


def _area_text(room: dict[str, Any]) -> str:
    return f"{area(room):.1f}".replace(".", ",") + " м²"


def _segment(draw, frame: _Frame, x0: float, y0: float, x1: float, y1: float,
             thickness: float, fill: str) -> None:
    """A straight wall from (x0, y0) to (x1, y1), ``thickness`` metres, ends squared."""
    half = thickness / 2
    if y0 == y1:
        draw.rectangle(frame.box(min(x0, x1) - half, y0 - half, max(x0, x1) + half, y0 + half),
                       fill=fill)
    else:
        draw.rectangle(frame.box(x0 - half, min(y0, y1) - half, x0 + half, max(y0, y1) + half),
                       fill=fill)


def _on_outline(frame: _Frame, wall: str, at: float) -> bool:
    x0, y0, x1, y1 = frame.outline
    return at in ((y0, y1) if wall == "h" else (x0, x1))


def _opening(frame: _Frame, item: dict[str, Any], extra: float = 0.0) -> list[float]:
    """The box an opening cuts out of its wall."""
    thickness = OUTER_WALL if _on_outline(frame, item["wall"], item["at"]) else INNER_WALL
    half = thickness / 2 + extra
    if item["wall"] == "h":
        return frame.box(item["start"], item["at"] - half, item["end"], item["at"] + half)
    return frame.box(item["at"] - half, item["start"], item["at"] + half, item["end"])


def _draw_floors(draw, frame: _Frame, rooms) -> None:
    for room in rooms:
        if room.get("balcony"):
            draw.rectangle(frame.box(*room["rect"]), fill=FLOOR)
            continue
        wet = room.get("key") in WET_ROOMS
        draw.rectangle(frame.box(*room["rect"]), fill=WET_FLOOR if wet else FLOOR)
        if wet:  # 30 cm floor tiles
            x0, y0, x1, y1 = room["rect"]
            step = 0.3
            x = x0 + step
            while x < x1 - 1e-6:
                draw.line([frame.pt(x, y0), frame.pt(x, y1)], fill=TILE, width=frame.factor)
                x += step
            y = y0 + step
            while y < y1 - 1e-6:
                draw.line([frame.pt(x0, y), frame.pt(x1, y)], fill=TILE, width=frame.factor)
                y += step


def _draw_walls(draw, frame: _Frame, rooms) -> None:
    ox0, oy0, ox1, oy1 = frame.outline
    for room in rooms:
        x0, y0, x1, y1 = room["rect"]
        if room.get("balcony"):
            # The railing: a double line (the glazing) on the sides away from the house.
            for offset in (0.0, RAILING):
                edges = []
                if y0 >= oy1:
                    edges = [(x0 + offset, y0, x0 + offset, y1 - offset),
                             (x0 + offset, y1 - offset, x1 - offset, y1 - offset),
                             (x1 - offset, y1 - offset, x1 - offset, y0)]
                elif y1 <= oy0:
                    edges = [(x0 + offset, y1, x0 + offset, y0 + offset),
                             (x0 + offset, y0 + offset, x1 - offset, y0 + offset),
                             (x1 - offset, y0 + offset, x1 - offset, y1)]
                elif x0 >= ox1:
                    edges = [(x0, y0 + offset, x1 - offset, y0 + offset),
                             (x1 - offset, y0 + offset, x1 - offset, y1 - offset),
                             (x1 - offset, y1 - offset, x0, y1 - offset)]
                else:
                    edges = [(x1, y0 + offset, x0 + offset, y0 + offset),
                             (x0 + offset, y0 + offset, x0 + offset, y1 - offset),
                             (x0 + offset, y1 - offset, x1, y1 - offset)]
                for ax, ay, bx, by in edges:
                    draw.line([frame.pt(ax, ay), frame.pt(bx, by)], fill=LINE,
                              width=round(1.6 * frame.factor))
            continue
        for ax, ay, bx, by, wall, at in ((x0, y0, x1, y0, "h", y0), (x0, y1, x1, y1, "h", y1),
                                         (x0, y0, x0, y1, "v", x0), (x1, y0, x1, y1, "v", x1)):
            if not _on_outline(frame, wall, at):
                _segment(draw, frame, ax, ay, bx, by, INNER_WALL, WALL)
    for ax, ay, bx, by in ((ox0, oy0, ox1, oy0), (ox0, oy1, ox1, oy1),
                           (ox0, oy0, ox0, oy1), (ox1, oy0, ox1, oy1)):
        _segment(draw, frame, ax, ay, bx, by, OUTER_WALL, WALL)


def _draw_windows(draw, frame: _Frame, windows) -> None:
    width = round(1.4 * frame.factor)
    for window in windows:
        box = _opening(frame, window)
        draw.rectangle(box, fill=PAPER, outline=LINE, width=width)
        a, b, c, e = box
        if window["wall"] == "h":
            for y in (b + (e - b) * 0.4, b + (e - b) * 0.6):
                draw.line([(a, y), (c, y)], fill=LINE, width=width)
        else:
            for x in (a + (c - a) * 0.4, a + (c - a) * 0.6):
                draw.line([(x, b), (x, e)], fill=LINE, width=width)


def _draw_doors(draw, frame: _Frame, doors) -> None:
    for door in doors:
        box = _opening(frame, door, extra=0.01)
        draw.rectangle(box, fill=FLOOR)
        along, at = door["wall"], door["at"]
        hinge = door["start"] if door.get("hinge", "start") == "start" else door["end"]
        other = door["end"] if hinge == door["start"] else door["start"]
        size = abs(door["end"] - door["start"])
        opens = 1 if door.get("opens", 1) >= 0 else -1
        if along == "h":
            pivot = frame.pt(hinge, at)
            tip = frame.pt(hinge, at + opens * size)
            closed = frame.pt(other, at)
        else:
            pivot = frame.pt(at, hinge)
            tip = frame.pt(at + opens * size, hinge)
            closed = frame.pt(at, other)
        radius = frame.px(size)
        a_tip = math.atan2(tip[1] - pivot[1], tip[0] - pivot[0])
        a_closed = math.atan2(closed[1] - pivot[1], closed[0] - pivot[0])
        turn = (a_closed - a_tip + math.pi) % (2 * math.pi) - math.pi
        arc = [(pivot[0] + radius * math.cos(a_tip + turn * i / 24),
                pivot[1] + radius * math.sin(a_tip + turn * i / 24)) for i in range(25)]
        draw.line(arc, fill=FIXTURE, width=round(1.0 * frame.factor))
        draw.line([pivot, tip], fill=LINE, width=round(2.2 * frame.factor))


def _rounded(draw, box, radius, width, fill=None) -> None:
    draw.rounded_rectangle(box, radius=radius, outline=FIXTURE, width=width, fill=fill)


def _inset(box: list[float], by: float) -> list[float]:
    return [box[0] + by, box[1] + by, box[2] - by, box[3] - by]


def _toward(box: list[float], side: str, fraction: float) -> list[float]:
    """The part of ``box`` along ``side``, ``fraction`` of its depth."""
    a, b, c, e = box
    if side == "top":
        return [a, b, c, b + (e - b) * fraction]
    if side == "bottom":
        return [a, e - (e - b) * fraction, c, e]
    if side == "left":
        return [a, b, a + (c - a) * fraction, e]
    return [c - (c - a) * fraction, b, c, e]


def _away(box: list[float], side: str, fraction: float) -> list[float]:
    opposite = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}[side]
    return _toward(box, opposite, fraction)


def _draw_fixtures(draw, frame: _Frame, fixtures) -> None:
    line = round(1.3 * frame.factor)
    for item in fixtures:
        box = frame.box(*item["rect"])
        side = item.get("side", "top")
        short = min(box[2] - box[0], box[3] - box[1])
        kind = item.get("kind")
        if kind == "bath":
            _rounded(draw, box, short * 0.12, line, fill=PAPER)
            _rounded(draw, _inset(box, short * 0.1), short * 0.3, line)
            drain = _toward(_inset(box, short * 0.25), "top" if side in ("left", "right")
                            else "left", 0.12)
            cx, cy = (drain[0] + drain[2]) / 2, (drain[1] + drain[3]) / 2
            r = short * 0.05
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=FIXTURE, width=line)
        elif kind == "toilet":
            tank = _toward(box, side, 0.3)
            draw.rectangle(tank, outline=FIXTURE, width=line, fill=PAPER)
            bowl = _away(box, side, 0.72)
            draw.ellipse(_inset(bowl, short * 0.06), outline=FIXTURE, width=line, fill=PAPER)
        elif kind == "basin":
            _rounded(draw, box, short * 0.15, line, fill=PAPER)
            draw.ellipse(_inset(_away(box, side, 0.85), short * 0.12), outline=FIXTURE,
                         width=line)
        elif kind == "kitchen":
            draw.rectangle(box, outline=FIXTURE, width=line, fill=PAPER)
            along_x = (box[2] - box[0]) >= (box[3] - box[1])
            length = (box[2] - box[0]) if along_x else (box[3] - box[1])
            # A sink at a quarter of the counter, a four-ring hob at two thirds.
            for centre, kind_part in ((0.22, "sink"), (0.68, "hob")):
                mid = (box[0] + length * centre, (box[1] + box[3]) / 2) if along_x else \
                    ((box[0] + box[2]) / 2, box[1] + length * centre)
                half = short * 0.36
                part = [mid[0] - half, mid[1] - half, mid[0] + half, mid[1] + half]
                if kind_part == "sink":
                    _rounded(draw, part, half * 0.3, line)
                    r = half * 0.12
                    draw.ellipse([mid[0] - r, mid[1] - r, mid[0] + r, mid[1] + r],
                                 outline=FIXTURE, width=line)
                else:
                    draw.rectangle(part, outline=FIXTURE, width=line)
                    r = half * 0.3
                    for dx in (-0.5, 0.5):
                        for dy in (-0.5, 0.5):
                            x, y = mid[0] + dx * half, mid[1] + dy * half
                            draw.ellipse([x - r, y - r, x + r, y + r], outline=FIXTURE,
                                         width=line)
        elif kind == "bed":
            draw.rectangle(box, outline=FIXTURE, width=line, fill=PAPER)
            head = _toward(box, side, 0.2)
            along_x = side in ("top", "bottom")
            for part in (0, 1):
                if along_x:
                    w = (head[2] - head[0]) / 2
                    pillow = [head[0] + part * w, head[1], head[0] + (part + 1) * w, head[3]]
                else:
                    h = (head[3] - head[1]) / 2
                    pillow = [head[0], head[1] + part * h, head[2], head[1] + (part + 1) * h]
                _rounded(draw, _inset(pillow, short * 0.05), short * 0.05, line)
            fold = _away(box, side, 0.62)
            if along_x:
                y = fold[1] if side == "top" else fold[3]
                draw.line([(fold[0], y), (fold[2], y)], fill=FIXTURE, width=line)
            else:
                x = fold[0] if side == "left" else fold[2]
                draw.line([(x, fold[1]), (x, fold[3])], fill=FIXTURE, width=line)
        elif kind == "sofa":
            _rounded(draw, box, short * 0.12, line, fill=PAPER)
            _rounded(draw, _toward(box, side, 0.25), short * 0.08, line)
            arms = ("left", "right") if side in ("top", "bottom") else ("top", "bottom")
            for arm in arms:
                _rounded(draw, _toward(box, arm, short * 0.2 / max(
                    box[2] - box[0], box[3] - box[1])), short * 0.08, line)
        elif kind == "table":
            _rounded(draw, box, short * 0.1, line, fill=PAPER)
            for chair_side in ("top", "bottom", "left", "right"):
                if chair_side == side:
                    continue
                chair = _toward(box, chair_side, 0.001)
                cx, cy = (chair[0] + chair[2]) / 2, (chair[1] + chair[3]) / 2
                offset = short * 0.28
                cx += {"left": -offset, "right": offset}.get(chair_side, 0)
                cy += {"top": -offset, "bottom": offset}.get(chair_side, 0)
                r = short * 0.2
                _rounded(draw, [cx - r, cy - r, cx + r, cy + r], r * 0.3, line)
        elif kind == "wardrobe":
            draw.rectangle(box, outline=FIXTURE, width=line, fill=PAPER)
            a, b, c, e = box
            draw.line([(a, b), (c, e)], fill=FIXTURE, width=line)
            draw.line([(a, e), (c, b)], fill=FIXTURE, width=line)


def _draw_labels(draw, frame: _Frame, rooms) -> None:
    f = frame.factor
    for room in rooms:
        x0, y0, x1, y1 = room["rect"]
        fx, fy = room.get("label_at", (0.5, 0.5))
        cx, cy = frame.pt(x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy)
        name = str(room.get("name", "")).upper()
        room_px = frame.px(x1 - x0 - INNER_WALL) * 0.9
        cap = 11.0 * f
        if name and text_width(name, cap) > room_px:
            cap = max(6.0 * f, cap * room_px / text_width(name, cap))
        area_text = _area_text(room)
        area_cap = min(cap, 9.5 * f)
        # A patch of floor behind the words keeps them readable over fixtures.
        half_w = max(text_width(name, cap), text_width(area_text, area_cap)) / 2 + 4 * f
        floor = WET_FLOOR if room.get("key") in WET_ROOMS else FLOOR
        draw.rounded_rectangle([cx - half_w, cy - cap * 1.25 - 4 * f, cx + half_w,
                                cy + area_cap * 1.7 + 4 * f], radius=3 * f, fill=floor)
        if name:
            draw_text(draw, name, (cx, cy - cap * 0.75), cap, LABEL, 1.5 * f)
        draw_text(draw, area_text, (cx, cy + area_cap * 1.05), area_cap, AREA, 1.2 * f)


def _draw_dimensions(draw, frame: _Frame) -> None:
    """Overall width above the plan and depth to its left, in millimetres."""
    f = frame.factor
    ox0, oy0, ox1, oy1 = frame.outline
    half = OUTER_WALL / 2
    ax0, ay0 = frame.pt(ox0 - half, oy0 - half)
    ax1, ay1 = frame.pt(ox1 + half, oy1 + half)
    gap, tick, width = 30 * f, 6 * f, round(1.1 * f)
    top = ay0 - gap
    left = ax0 - gap
    for x in (ax0, ax1):
        draw.line([(x, ay0 - 6 * f), (x, top - 8 * f)], fill=DIMENSION, width=width)
        draw.line([(x - tick, top + tick), (x + tick, top - tick)], fill=DIMENSION,
                  width=round(1.8 * f))
    draw.line([(ax0 - 8 * f, top), (ax1 + 8 * f, top)], fill=DIMENSION, width=width)
    for y in (ay0, ay1):
        draw.line([(ax0 - 6 * f, y), (left - 8 * f, y)], fill=DIMENSION, width=width)
        draw.line([(left - tick, y + tick), (left + tick, y - tick)], fill=DIMENSION,
                  width=round(1.8 * f))
    draw.line([(left, ay0 - 8 * f), (left, ay1 + 8 * f)], fill=DIMENSION, width=width)
    cap = 9.0 * f
    across = str(round((ox1 - ox0 + OUTER_WALL) * 1000))
    deep = str(round((oy1 - oy0 + OUTER_WALL) * 1000))
    draw_text(draw, across, ((ax0 + ax1) / 2, top - cap * 1.1), cap, DIMENSION, 1.2 * f)
    draw_text(draw, deep, (left - cap * 1.1, (ay0 + ay1) / 2), cap, DIMENSION, 1.2 * f,
              vertical=True)


def draw_plan(rooms_layout: dict[str, Any], width: int = 900, height: int = 600) -> bytes:
    """A PNG floor plan of ``rooms_layout`` (see :data:`LAYOUTS`), ``width`` x
    ``height`` pixels. Deterministic: the same arguments give the same bytes."""
    _check_size(width, height)
    factor = SUPERSAMPLE
    frame = _Frame(rooms_layout, width, height, factor)
    rooms = _rooms(rooms_layout)
    image = Image.new("RGB", (width * factor, height * factor), PAPER)
    draw = ImageDraw.Draw(image)
    _draw_floors(draw, frame, rooms)
    _draw_fixtures(draw, frame, rooms_layout.get("fixtures", []))
    _draw_walls(draw, frame, rooms)
    _draw_windows(draw, frame, rooms_layout.get("windows", []))
    _draw_doors(draw, frame, rooms_layout.get("doors", []))
    _draw_labels(draw, frame, rooms)
    _draw_dimensions(draw, frame)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
