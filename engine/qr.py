"""QR codes for pairing: a PNG for chat platforms and text for the terminal (segno)."""

from __future__ import annotations

import io

import segno


def qr_png(code: str, *, scale: int = 8) -> bytes:
    """The QR of `code` as PNG bytes, with a quiet zone so phones read it off a screen."""
    buffer = io.BytesIO()
    segno.make(code, error="l", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_text(code: str) -> str:
    """The QR of `code` drawn with block characters, two rows per line, for a terminal."""
    matrix = [list(row) for row in segno.make(code, error="l", micro=False).matrix_iter(border=2)]
    if len(matrix) % 2:
        matrix.append([0] * len(matrix[0]))
    glyphs = {(1, 1): "█", (1, 0): "▀", (0, 1): "▄", (0, 0): " "}
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        lines.append("".join(glyphs[(bool(a), bool(b))] for a, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)
