"""Braille cells as a canvas: a cell of the terminal holds 2 × 4 dots, so a line drawn in dots
is four times finer than one drawn in characters. The network's edges and the plots' lines
are drawn here."""

from __future__ import annotations

BLANK = 0x2800
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))  # [x % 2][y % 4]


def line(dots: dict, X0: int, Y0: int, X1: int, Y1: int) -> None:
    """Bresenham's line from dot (X0, Y0) to dot (X1, Y1), left to right, or-ed into ``dots``
    (cell (x, y) → its dot bits)."""
    dx, dy = X1 - X0, -abs(Y1 - Y0)
    sy = 1 if Y0 < Y1 else -1
    err = dx + dy
    while True:
        cell = (X0 // 2, Y0 // 4)
        dots[cell] = dots.get(cell, 0) | _BITS[X0 % 2][Y0 % 4]
        if X0 == X1 and Y0 == Y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            X0 += 1
        if e2 <= dx:
            err += dx
            Y0 += sy


def char(bits: int) -> str:
    return chr(BLANK + bits)
