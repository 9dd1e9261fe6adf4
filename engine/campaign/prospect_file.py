"""Reading a prospects file: its encoding, its dialect, and its rows, or why it cannot be read.

The encoding is a property of the whole file, so it is settled before anything is imported:
a byte order mark names it (UTF-8, UTF-16 as Excel's "Unicode text" writes it, UTF-32), and
UTF-16 without one shows as NUL in every other byte. Otherwise the whole file must decode as
UTF-8, or else (when it is ASCII up to its first non-UTF-8 byte) as Windows-1252, which
spreadsheets save "CSV" in. A file that is neither, or that mixes them, is refused naming its
line: importing the rest would store names we cannot vouch for over the ones already saved.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from engine.errors import InvalidInput
from engine.texts import Text, phrase

if TYPE_CHECKING:
    from _csv import Reader

PHONE_COLUMNS = (
    "phone",
    "telefono",
    "celular",
    "movil",
    "whatsapp",
    "numero",
    "number",
    "mobile",
    "tel",
    "cel",
)
NAME_COLUMNS = ("name", "nombre", "full_name", "nombre_completo", "contacto", "contact")
TAG_COLUMNS = ("tags", "etiquetas", "tag", "etiqueta")
MAX_COLUMNS = 200
MAX_COLUMN_KEY_CHARS = 64
# One record may span a few lines (a quoted cell with line breaks); more means a quote that
# never closed and is swallowing the rows after it.
MAX_LINES_PER_ROW = 10
_CHUNK_BYTES = 65536
# (byte order mark, codec that consumes it), longest first: UTF-32 LE starts like UTF-16 LE.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Draft:
    """One CSV row's contact data, before its phone is parsed."""

    line: int
    phone: str
    name: str | None
    tags: tuple[str, ...]
    fields: dict[str, str]


def column_key(header: str) -> str:
    """`Teléfono Móvil` -> `telefono_movil`: the name placeholders and look-ups use."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without a mark: the text (mostly ASCII in a CSV) has NUL in every other
    byte, which no UTF-8 or Windows-1252 CSV has."""
    pairs = len(head) // 2
    if pairs < 8:
        return None
    if head[1::2].count(0) > pairs * 0.6 and head[0::2].count(0) < pairs * 0.1:
        return "utf-16-le"
    if head[0::2].count(0) > pairs * 0.6 and head[1::2].count(0) < pairs * 0.1:
        return "utf-16-be"
    return None


def file_encoding(path: Path) -> str:
    """The codec that reads the whole of `path`; raises InvalidInput naming the bad line."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for bom, codec in _BOMS:
        if head.startswith(bom):
            _check_decodes(path, codec)
            return codec
    utf16 = _utf16_without_bom(head)
    if utf16 is not None:
        _check_decodes(path, utf16)
        return utf16
    failure = _decode_failure(path, "utf-8")
    if failure is None:
        return "utf-8"
    line, byte, ascii_before = failure
    if not ascii_before:
        raise InvalidInput("csv.mixed", line=line, byte=byte)
    failure = _decode_failure(path, "cp1252")
    if failure is not None:
        line, byte, _ = failure
        raise InvalidInput("csv.unknown_byte", line=line, byte=byte)
    return "cp1252"


def _check_decodes(path: Path, codec: str) -> None:
    failure = _decode_failure(path, codec)
    if failure is not None:
        line, byte, _ = failure
        raise InvalidInput("csv.broken", line=line, byte=byte, codec=codec.upper())


def _decode_failure(path: Path, codec: str) -> tuple[int, int, bool] | None:
    """Where `path` stops decoding as `codec`: (line, the byte, all ASCII before), or None."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines, ascii_so_far = 1, True
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            state = decoder.getstate()
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # `exc.object` is the bytes held over from the last chunk plus this one.
                decoder.setstate(state)
                good = decoder.decode(chunk[: max(0, exc.start - len(state[0]))])
                ascii_so_far = ascii_so_far and good.isascii()
                return lines + good.count("\n"), exc.object[exc.start], ascii_so_far
            lines += text.count("\n")
            ascii_so_far = ascii_so_far and text.isascii()
            if not chunk:
                return None


class _CountingReader(io.RawIOBase):
    """Wraps a binary file to report how many bytes have been read, for the progress bar."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        if self._on_read is not None and data:
            self._on_read(len(data))
        return len(data)


def _pick(columns: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    return next((columns[key] for key in candidates if key in columns), None)


def read_rows(
    path: Path,
    encoding: str,
    phone_column: str | None,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Draft]:
    """The file's rows with their line numbers; file-level problems raise InvalidInput."""
    with path.open("rb") as raw:
        sample = raw.read(8192).decode(encoding, errors="ignore")
        raw.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                sample, delimiters=",;\t|"
            )
        except csv.Error:
            dialect = csv.excel
        text = io.TextIOWrapper(
            io.BufferedReader(_CountingReader(raw, on_bytes)), encoding=encoding, newline=""
        )
        reader = csv.reader(text, dialect)
        header = _next(reader)
        if not header:
            raise InvalidInput("csv.empty", file=path.name)
        columns = _columns(header)
        phone_header = (
            columns.get(column_key(phone_column)) if phone_column else _pick(columns, PHONE_COLUMNS)
        )
        if phone_header is None:
            wanted = repr(phone_column) if phone_column else phrase("csv.usual_phone_columns")
            raise InvalidInput(
                "csv.no_phone_column", file=path.name, wanted=wanted, found=", ".join(header)
            )
        name_header = _pick(columns, NAME_COLUMNS)
        tag_header = _pick(columns, TAG_COLUMNS)
        while True:
            line = reader.line_num + 1
            record = _next(reader)
            if record is None:
                return
            if reader.line_num - line >= MAX_LINES_PER_ROW:
                raise _open_quote(line, phrase("csv.cell_lines", lines=reader.line_num - line + 1))
            if not any(cell.strip() for cell in record):
                continue
            values = dict(zip(header, record, strict=False))
            fields = {
                column_key(name): value.strip()
                for name, value in values.items()
                if name not in (phone_header, name_header, tag_header) and value.strip()
            }
            tags = tuple(
                tag.strip()
                for tag in re.split(r"[;|,]", values.get(tag_header or "", ""))
                if tag.strip()
            )
            name = (values.get(name_header or "", "") or "").strip() or None
            yield Draft(line, values.get(phone_header, ""), name, tags, fields)


def _next(reader: Reader) -> list[str] | None:
    """The next record; a cell past the csv module's size limit is a file-level error."""
    line = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            raise _open_quote(line, phrase("csv.cell_chars", limit=limit)) from exc
        # The csv module's own words (say "line contains NUL"), quoted as they are.
        raise InvalidInput("csv.unreadable", line=line, detail=str(exc)) from exc


def _open_quote(line: int, what: Text) -> InvalidInput:
    return InvalidInput("csv.open_quote", line=line, what=what)


def _columns(header: list[str]) -> dict[str, str]:
    if len(header) > MAX_COLUMNS:
        raise InvalidInput("csv.too_many_columns", count=len(header), max=MAX_COLUMNS)
    keys = [column_key(name) for name in header]
    for number, key in enumerate(keys, 1):
        if len(key) > MAX_COLUMN_KEY_CHARS:
            raise InvalidInput(
                "csv.long_column_name", number=number, chars=len(key), max=MAX_COLUMN_KEY_CHARS
            )
    return {key: name for key, name in zip(keys, header, strict=True) if key}
