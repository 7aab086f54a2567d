"""Handwritten digits for the draw page's tests: strokes, as a person writes them on a board.

Each digit is a list of strokes (pen down, move, pen up), each a list of points in a glyph
box from -1 to 1 (y pointing down), written in the order and direction people write them.
`PLACES` puts each one on the board the way people do: some fill it, some are small and off
to a side. Nothing here was fitted to a model.
"""

from __future__ import annotations

import math

Point = tuple[float, float]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> list[Point]:
    """Points along an ellipse from angle `start` to `end` (degrees; 0 right, 90 down)."""
    steps = max(8, round(abs(end - start) / 10))
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / steps)),
        )
        for i in range(steps + 1)
    ]


GLYPHS: dict[int, list[list[Point]]] = {
    0: [arc(0, 0, 0.62, 1, -90, 275)],
    1: [[(-0.3, -0.7), (0.1, -1), (0.02, 1)]],
    2: [[*arc(0, -0.45, 0.55, 0.55, 200, 370), (-0.6, 1), (0.65, 1)]],
    3: [arc(0, -0.5, 0.5, 0.5, 200, 450) + arc(0, 0.5, 0.58, 0.5, -90, 160)],
    4: [[(0.2, -1), (-0.65, 0.3), (0.7, 0.3)], [(0.35, -0.45), (0.35, 1)]],
    5: [
        [(-0.35, -1), (-0.42, -0.1), *arc(-0.05, 0.42, 0.58, 0.58, -125, 145)],
        [(-0.35, -1), (0.6, -1)],
    ],
    6: [[(0.45, -1), (0.05, -0.7), (-0.4, -0.2), *arc(0, 0.45, 0.55, 0.55, 180, 540)]],
    7: [[(-0.6, -0.9), (0.6, -0.9), (-0.1, 1)]],
    8: [arc(0, -0.5, 0.42, 0.5, 90, 450) + arc(0, 0.5, 0.55, 0.5, -90, 270)],
    9: [[*arc(0, -0.45, 0.5, 0.55, 0, -360), (0.5, -0.45), (0.4, 1)]],
}
"""Each digit's strokes in its glyph box, -1 to 1 both ways."""

PLACES: dict[int, tuple[float, float, float]] = {
    0: (0.85, 0.5, 0.5),
    1: (0.55, 0.35, 0.45),
    2: (0.9, 0.5, 0.5),
    3: (0.45, 0.65, 0.35),
    4: (0.8, 0.5, 0.55),
    5: (0.5, 0.38, 0.62),
    6: (0.85, 0.52, 0.5),
    7: (0.55, 0.6, 0.6),
    8: (0.9, 0.5, 0.5),
    9: (0.45, 0.32, 0.32),
}
"""Where each digit goes on the board: its height (a fraction of the board's) and centre."""


def strokes(digit: int) -> list[list[Point]]:
    """The strokes of `digit` on a board of side 1, placed as `PLACES` says."""
    height, cx, cy = PLACES[digit]
    return [
        [(cx + x * height / 2, cy + y * height / 2) for x, y in stroke] for stroke in GLYPHS[digit]
    ]
