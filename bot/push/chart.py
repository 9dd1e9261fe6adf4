"""A small PNG bar chart of messages per day, drawn and encoded with the standard library.

No plotting dependency: a digest needs a few bars, day labels and counts, which a tiny bitmap
font and zlib cover (PNG is an RGB raster behind zlib with a CRC per chunk).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

INBOUND = (52, 120, 200)  # blue
OUTBOUND = (60, 170, 90)  # green
_INK = (60, 60, 60)
_WHITE = (255, 255, 255)
_GLYPHS = {  # 3x5 pixels, rows top to bottom
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "/": ("001", "001", "010", "100", "100"),
    "-": ("000", "000", "111", "000", "000"),
    "I": ("111", "010", "010", "010", "111"),
    "N": ("111", "101", "101", "101", "101"),
    "O": ("111", "101", "101", "101", "111"),
    "U": ("101", "101", "101", "101", "111"),
    "T": ("111", "010", "010", "010", "010"),
    " ": ("000", "000", "000", "000", "000"),
}
_PX = 2  # font scale: each glyph pixel is 2x2
_BAR_W, _PAIR_GAP, _GROUP_GAP, _PAD = 12, 2, 22, 12
_PLOT_H, _TOP, _BOTTOM = 110, 34, 22


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(_WHITE) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color: tuple[int, int, int]) -> None:
        for row in range(max(0, y), min(self.height, y + h)):
            start = (row * self.width + max(0, x)) * 3
            end = (row * self.width + min(self.width, x + w)) * 3
            if end > start:
                self.pixels[start:end] = bytes(color) * ((end - start) // 3)

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = _INK) -> None:
        for char in text:
            for dy, line in enumerate(_GLYPHS.get(char, _GLYPHS[" "])):
                for dx, bit in enumerate(line):
                    if bit == "1":
                        self.rect(x + dx * _PX, y + dy * _PX, _PX, _PX, color)
            x += 4 * _PX

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * self.width * 3 : (row + 1) * self.width * 3])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def text_width(text: str) -> int:
    return len(text) * 4 * _PX - _PX


def bar_chart_png(days: Sequence[tuple[str, int, int]]) -> bytes:
    """Bars of (label, inbound, outbound) per day, with counts on top and a legend."""
    group_w = 2 * _BAR_W + _PAIR_GAP + _GROUP_GAP
    width = max(2 * _PAD + len(days) * group_w, 160)
    height = _TOP + _PLOT_H + _BOTTOM
    canvas = _Canvas(width, height)
    canvas.rect(_PAD, 6, 10, 10, INBOUND)
    canvas.text(_PAD + 14, 6, "IN")
    canvas.rect(_PAD + 40, 6, 10, 10, OUTBOUND)
    canvas.text(_PAD + 54, 6, "OUT")
    base_y = _TOP + _PLOT_H
    canvas.rect(_PAD - 4, base_y, width - 2 * _PAD + 8, 1, _INK)
    top = max((max(i, o) for _, i, o in days), default=0) or 1
    for n, (label, inbound, outbound) in enumerate(days):
        x = _PAD + n * group_w
        for offset, value, color in (
            (0, inbound, INBOUND),
            (_BAR_W + _PAIR_GAP, outbound, OUTBOUND),
        ):
            bar_h = round(value / top * (_PLOT_H - 14))
            canvas.rect(x + offset, base_y - bar_h, _BAR_W, bar_h, color)
            figure = str(value)
            figure_x = x + offset + (_BAR_W - text_width(figure)) // 2
            canvas.text(figure_x, base_y - bar_h - 12, figure)
        label_x = x + (2 * _BAR_W + _PAIR_GAP - text_width(label)) // 2
        canvas.text(label_x, base_y + 6, label)
    return canvas.png()
