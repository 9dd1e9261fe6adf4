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
    """The QR of `code` for a terminal: segno's compact output (two rows per line of blocks)."""
    out = io.StringIO()
    segno.make(code, error="l", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")
