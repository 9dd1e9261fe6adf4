"""Prospect lists: CSV import with a line-by-line report, checked whole before any row is saved.

Two kinds of trouble, two answers:
- The file cannot be read as a whole (an encoding it does not follow, a quote that never
  closes, a cell past the csv module's limit, too many columns): nothing is imported, and the
  error names the line. Saving the rows before that line would store text read with the wrong
  encoding, or miss the rows a stray quote swallowed, and the operator could not tell which.
  So a first pass reads the whole file without touching the database.
- A row is wrong on its own (its phone, a duplicate, a cell over the size limits): that row is
  rejected with its line and reason, and every other row is imported.
The second pass writes in batches (so the file's size does not bound memory; only the numbers
seen, to report duplicates, grow with it). If the database fails midway, `ImportInterrupted`
says how many rows were saved; importing the file again is safe, since it is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.campaign.prospect_file import (
    NAME_COLUMNS,
    PHONE_COLUMNS,
    TAG_COLUMNS,
    Draft,
    column_key,
    file_encoding,
    read_rows,
)
from engine.campaign.templates import MAX_FIELD_CHARS
from engine.errors import InvalidInput
from engine.phones import InvalidPhone, parse_phone
from engine.texts import Text, phrase
from storage.db import Database, StorageError
from storage.records import ContactInput
from storage.repos import ClientRepo, ContactRepo

logger = logging.getLogger(__name__)

__all__ = [
    "NAME_COLUMNS",
    "PHONE_COLUMNS",
    "TAG_COLUMNS",
    "ImportInterrupted",
    "ImportReport",
    "RejectedRow",
    "column_key",
    "import_csv",
]

BATCH_ROWS = 1000
MAX_NAME_CHARS = 200  # contacts.name is VARCHAR(200)
MAX_TAG_CHARS = 64  # contact_tags.tag is VARCHAR(64)
SHOWN_VALUE_CHARS = 40  # a rejected cell as quoted in the report


@dataclass(frozen=True)
class RejectedRow:
    """A refused row: its line, its phone cell as shown, and why (English as a string; the bot
    says it in the operator's language)."""

    line: int
    value: str
    reason: Text


@dataclass
class ImportReport:
    """What an import did; `rejected` keeps every refused row with its line and reason."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    foreign: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def committed(self) -> int:
        """Rows saved to the database (added, updated or already there unchanged)."""
        return self.added + self.updated + self.unchanged


class ImportInterrupted(Exception):
    """The database failed midway; `report` counts what was saved before `line`."""

    def __init__(self, report: ImportReport, line: int, cause: StorageError) -> None:
        super().__init__(
            f"the database failed while saving the rows from line {line} ({cause}): "
            f"{report.committed:,} rows were saved before it; import the same file again "
            "to add the rest (nothing is added twice)"
        )
        self.report = report
        self.line = line


def _check_file(path: Path, phone_column: str | None) -> str:
    """The first pass: the file's encoding, once every row of it reads; else InvalidInput."""
    encoding = file_encoding(path)
    for _ in read_rows(path, encoding, phone_column):
        pass
    return encoding


def _shown(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE_CHARS else value[: SHOWN_VALUE_CHARS - 1] + "…"


def _too_long(draft: Draft) -> Text | None:
    """Why a row's cells are over the limits, or None."""
    for key, value in draft.fields.items():
        if len(value) > MAX_FIELD_CHARS:
            return phrase("row.field_too_long", field=key, chars=len(value), max=MAX_FIELD_CHARS)
    if draft.name is not None and len(draft.name) > MAX_NAME_CHARS:
        return phrase("row.name_too_long", chars=len(draft.name), max=MAX_NAME_CHARS)
    for tag in draft.tags:
        if len(tag) > MAX_TAG_CHARS:
            return phrase("row.tag_too_long", chars=len(tag), max=MAX_TAG_CHARS)
    return None


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
    """Import a CSV of prospects for a client; idempotent (a second run adds nothing).

    Raises InvalidInput, with nothing imported, when the file cannot be read whole;
    ImportInterrupted when the database fails after some batches were saved.
    """
    # Reading the file blocks briefly per chunk; rows are small and batches yield to the loop.
    if not path.is_file():  # noqa: ASYNC240
        raise InvalidInput("csv.no_file", path=path)
    if tag is not None and not 0 < len(tag) <= MAX_TAG_CHARS:
        raise InvalidInput("csv.bad_tag", tag=tag, max=MAX_TAG_CHARS)
    client = await ClientRepo(db).get(client_slug)
    # The first pass reads the whole file without a pause, so off the event loop.
    encoding = await asyncio.to_thread(_check_file, path, phone_column)
    contacts = ContactRepo(db)
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[ContactInput] = []
    batch_line = 0

    async def flush() -> None:
        try:
            counts = await contacts.upsert_many(client.id, batch)
        except StorageError as exc:
            raise ImportInterrupted(report, batch_line, exc) from exc
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        batch.clear()

    try:
        for draft in read_rows(path, encoding, phone_column, on_bytes):
            report.rows += 1
            try:
                phone = parse_phone(draft.phone, client.region)
            except InvalidPhone as exc:
                report.rejected.append(RejectedRow(draft.line, _shown(draft.phone), exc.reason))
                continue
            too_long = _too_long(draft)
            if too_long is not None:
                report.rejected.append(RejectedRow(draft.line, _shown(draft.phone), too_long))
                continue
            first_line = seen.setdefault(phone.digits, draft.line)
            if first_line != draft.line:
                reason = phrase("row.duplicate", line=first_line, phone=phone.e164)
                report.rejected.append(RejectedRow(draft.line, _shown(draft.phone), reason))
                continue
            if phone.region != client.region:
                report.foreign += 1
            tags = draft.tags + ((tag,) if tag and tag not in draft.tags else ())
            if not batch:
                batch_line = draft.line
            batch.append(ContactInput(phone.digits, draft.name, tags, draft.fields))
            if len(batch) >= batch_rows:
                await flush()
        if batch:
            await flush()
    except (InvalidInput, UnicodeDecodeError) as exc:  # the file changed since the first pass
        detail = exc.text if isinstance(exc, InvalidInput) else str(exc)
        raise InvalidInput(
            "csv.changed", file=path.name, detail=detail, saved=report.committed
        ) from exc
    logger.debug(
        "imported %s into %s: %d added, %d updated, %d rejected",
        path.name,
        client_slug,
        report.added,
        report.updated,
        len(report.rejected),
    )
    return report
