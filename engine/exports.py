"""CSV files operators open in a spreadsheet: rejected import rows, campaign reports.

Cells hold text that contacts chose (their WhatsApp name, their replies), so a cell is never
allowed to start a formula. Every CSV export goes through `csv_bytes` or `write_csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

# OWASP, "CSV Injection" (owasp.org/www-community/attacks/CSV_Injection): ensure no cell begins
# with `=`, `+`, `-`, `@`, tab (0x09), carriage return (0x0D) or line feed (0x0A). Like the
# page's own escaped examples, we prepend a single quote: spreadsheets show the cell as text
# and hide the quote, so `+5491112345678` still reads as the phone. csv.writer does the rest
# the page asks for: it quotes a cell holding the separator or a quote and doubles the quotes,
# so no cell can be split to put one of these characters at the start of another.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

Cell = str | int | float | None


def safe_cell(value: Cell) -> str:
    """`value` as text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(handle: TextIO, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write `header` and `rows` to an open text file (opened with `newline=""`)."""
    writer = csv.writer(handle)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The CSV file as UTF-8 bytes, to send as a document."""
    buffer = io.StringIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue().encode("utf-8")
