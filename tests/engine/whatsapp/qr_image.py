"""Render a QR to PNG with segno and read it back with zxing-cpp (no imaging library needed)."""

from __future__ import annotations

import io
import struct
import zlib

import segno
import zxingcpp


def render_png(text: str) -> bytes:
    """The QR of ``text`` as a 1-bit greyscale PNG."""
    out = io.BytesIO()
    segno.make(text, error="l").save(out, kind="png", scale=4, border=4)
    return out.getvalue()


def _unfilter(raw: bytes, width_bytes: int, height: int) -> list[bytearray]:
    rows: list[bytearray] = []
    prior = bytearray(width_bytes)
    stride = width_bytes + 1
    for y in range(height):
        kind, line = raw[y * stride], bytearray(raw[y * stride + 1 : (y + 1) * stride])
        for x in range(width_bytes):
            left = line[x - 1] if x else 0
            up, up_left = prior[x], (prior[x - 1] if x else 0)
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[x] = (line[x] + pred) & 0xFF
        rows.append(line)
        prior = line
    return rows


def png_to_grey(png: bytes) -> tuple[bytes, int, int]:
    """Decode a 1-bit greyscale PNG (what segno writes) to 8-bit pixels, width, height."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert (depth, colour) == (1, 0), "expected a 1-bit greyscale PNG"
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    rows = _unfilter(zlib.decompress(idat), (width + 7) // 8, height)
    pixels = bytearray()
    for row in rows:
        pixels.extend(255 if row[x // 8] >> (7 - x % 8) & 1 else 0 for x in range(width))
    return bytes(pixels), width, height


def decode_png(png: bytes) -> str:
    """The text of the single QR in ``png``."""
    pixels, width, height = png_to_grey(png)
    image = memoryview(pixels).cast("B", (height, width))
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"expected one QR, found {len(results)}"
    return str(results[0].text)
