"""Prospect lists: streaming CSV import with a line-by-line report.

The file is read row by row and written in batches, so its size does not bound memory (only
the set of numbers seen, to report duplicates inside the file, grows with it).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from engine.errors import InvalidInput
from engine.phones import InvalidPhone, parse_phone
from storage.db import Database
from storage.records import ContactInput
from storage.repos import ClientRepo, ContactRepo

logger = logging.getLogger(__name__)

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
BATCH_ROWS = 1000


@dataclass(frozen=True)
class RejectedRow:
    line: int
    value: str
    reason: str


@dataclass
class ImportReport:
    """What an import did; `rejected` keeps every refused row with its line and reason."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    foreign: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass(frozen=True)
class ContactInputDraft:
    """A CSV row's contact data before its phone is parsed."""

    name: str | None
    tags: tuple[str, ...]
    fields: dict[str, str]


def column_key(header: str) -> str:
    """`Teléfono Móvil` -> `telefono_movil`: the name placeholders and look-ups use."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def _pick(columns: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    return next((columns[key] for key in candidates if key in columns), None)


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


def _encoding_of(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(65536)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the very end is still UTF-8.
        if exc.start < len(head) - 3:
            return "cp1252"
    return "utf-8-sig"


def _rows(
    path: Path, phone_column: str | None, on_bytes: Callable[[int], None] | None
) -> Iterator[tuple[int, str, ContactInputDraft]]:
    encoding = _encoding_of(path)
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
        header = next(reader, None)
        if not header:
            raise InvalidInput(f"{path} is empty: the first line must name the columns")
        keys = [column_key(name) for name in header]
        columns = {key: name for key, name in zip(keys, header, strict=True) if key}
        phone_header = (
            columns.get(column_key(phone_column)) if phone_column else _pick(columns, PHONE_COLUMNS)
        )
        if phone_header is None:
            wanted = repr(phone_column) if phone_column else "phone, telefono, celular or whatsapp"
            raise InvalidInput(
                f"{path.name} has no phone column (looked for {wanted}; found "
                f"{', '.join(header)}): rename it or pass --phone-column"
            )
        name_header = _pick(columns, NAME_COLUMNS)
        tag_header = _pick(columns, TAG_COLUMNS)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            values = dict(zip(header, record, strict=False))
            phone = values.get(phone_header, "")
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
            yield reader.line_num, phone, ContactInputDraft(name, tags, fields)


async def import_csv(
    db: Database,
    client_slug: str,
    path: Path,
    *,
    tag: str | None = None,
    phone_column: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Import a CSV of prospects for a client; idempotent (a second run adds nothing)."""
    # Reading the CSV blocks briefly per chunk; rows are small and batches yield to the loop.
    if not path.is_file():  # noqa: ASYNC240
        raise InvalidInput(f"no file at {path}: give the path of a .csv file")
    if tag is not None and not 0 < len(tag) <= 64:
        raise InvalidInput(f"tag {tag!r} must have 1 to 64 characters")
    client = await ClientRepo(db).get(client_slug)
    contacts = ContactRepo(db)
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[ContactInput] = []

    async def flush() -> None:
        counts = await contacts.upsert_many(client.id, batch)
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        batch.clear()

    for line, raw_phone, draft in _rows(path, phone_column, on_bytes):
        report.rows += 1
        try:
            phone = parse_phone(raw_phone, client.region)
        except InvalidPhone as exc:
            report.rejected.append(RejectedRow(line, raw_phone, exc.reason))
            continue
        first_line = seen.setdefault(phone.digits, line)
        if first_line != line:
            report.rejected.append(
                RejectedRow(line, raw_phone, f"duplicate of line {first_line} ({phone.e164})")
            )
            continue
        if phone.region != client.region:
            report.foreign += 1
        tags = draft.tags + ((tag,) if tag and tag not in draft.tags else ())
        batch.append(ContactInput(phone.digits, draft.name, tags, draft.fields))
        if len(batch) >= batch_rows:
            await flush()
    if batch:
        await flush()
    logger.debug(
        "imported %s into %s: %d added, %d updated, %d rejected",
        path.name,
        client_slug,
        report.added,
        report.updated,
        len(report.rejected),
    )
    return report
