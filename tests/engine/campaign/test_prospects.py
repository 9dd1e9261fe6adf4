"""CSV import: report line by line, idempotent, tolerant of Spanish spreadsheets."""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.campaign.prospects import ImportInterrupted, RejectedRow, import_csv
from engine.campaign.templates import MAX_FIELD_CHARS
from engine.errors import InvalidInput
from engine.exports import csv_bytes
from storage.db import Database, NotFound
from storage.repos import ClientRepo, ContactRepo

CSV = """telefono,nombre,ciudad,plan
+54 9 11 1234-5678,Ana,Rosario,pro
011 15 1234-5678,Ana otra vez,,
5491187654321,Bruno,Córdoba,
hola,Nadie,,
+54 11 123,Corto,,
+34 612 34 56 78,Pepe,Madrid,
612345678,Sin prefijo,,

+1 415 555 2671,Joe,San Francisco,basic
"""


async def _haby(db: Database) -> int:
    return (await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")).id


async def test_report_lists_every_rejected_line_and_reason(db: Database, tmp_path: Path) -> None:
    client_id = await _haby(db)
    path = tmp_path / "prospects.csv"
    path.write_text(CSV, encoding="utf-8")
    seen_bytes: list[int] = []
    report = await import_csv(db, "haby", path, tag="feria", on_bytes=seen_bytes.append)

    assert report.rows == 8
    assert (report.added, report.updated, report.unchanged) == (4, 0, 0)
    assert report.foreign == 2
    assert report.rejected == [
        RejectedRow(3, "011 15 1234-5678", "duplicate of line 2 (+5491112345678)"),
        RejectedRow(5, "hola", "not a phone number"),
        RejectedRow(6, "+54 11 123", "too short for region AR (+54)"),
        RejectedRow(8, "612345678", "too short for region AR (+54)"),
    ]
    assert sum(seen_bytes) == path.stat().st_size

    contacts = ContactRepo(db)
    ana = await contacts.get(client_id, "5491112345678")
    assert ana.name == "Ana" and ana.tags == ("feria",)
    assert ana.fields == {"ciudad": "Rosario", "plan": "pro"}
    assert (await contacts.get(client_id, "34612345678")).fields == {"ciudad": "Madrid"}
    assert await contacts.count(client_id) == 4

    again = await import_csv(db, "haby", path, tag="feria")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert await contacts.count(client_id) == 4

    retagged = await import_csv(db, "haby", path, tag="noviembre")
    assert (retagged.added, retagged.updated) == (0, 4)
    assert (await contacts.get(client_id, "5491187654321")).tags == ("feria", "noviembre")


async def test_semicolons_and_windows_encoding_from_spreadsheets(
    db: Database, tmp_path: Path
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "excel.csv"
    path.write_bytes("Teléfono;Nombre;Dirección\n1112345678;José;Güemes 1\n".encode("cp1252"))
    report = await import_csv(db, "haby", path)
    assert (report.added, report.rejected) == (1, [])
    jose = await ContactRepo(db).get(client_id, "541112345678")
    assert jose.name == "José" and jose.fields == {"direccion": "Güemes 1"}


async def test_batches_do_not_change_the_result(db: Database, tmp_path: Path) -> None:
    client_id = await _haby(db)
    path = tmp_path / "many.csv"
    lines = (
        ["phone,name"]
        + [f"+54 9 11 5000-{i:04d},n{i}" for i in range(25)]
        + ["+54 9 11 5000-0003,dup"]
    )
    path.write_text("\n".join(lines) + "\n")
    report = await import_csv(db, "haby", path, batch_rows=4)
    assert report.added == 25
    assert report.rejected == [
        RejectedRow(27, "+54 9 11 5000-0003", "duplicate of line 5 (+5491150000003)")
    ]
    assert await ContactRepo(db).count(client_id) == 25


async def test_clear_errors_for_unusable_input(db: Database, tmp_path: Path) -> None:
    await _haby(db)
    no_phone = tmp_path / "nophone.csv"
    no_phone.write_text("nombre,ciudad\nAna,Rosario\n")
    with pytest.raises(InvalidInput, match=r"no phone column.*nombre, ciudad.*--phone-column"):
        await import_csv(db, "haby", no_phone)
    custom = tmp_path / "custom.csv"
    custom.write_text("contacto,cel_principal\nAna,+5491112345678\n")
    report = await import_csv(db, "haby", custom, phone_column="cel_principal")
    assert report.added == 1
    with pytest.raises(InvalidInput, match="no file"):
        await import_csv(db, "haby", tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidInput, match="empty"):
        await import_csv(db, "haby", empty)
    with pytest.raises(NotFound, match="ghost"):
        await import_csv(db, "ghost", custom)


def _rows(count: int, *, start: int = 0, name: str = "Ana") -> list[str]:
    return [f"+54 9 11 5000-{i:04d},{name} {i}" for i in range(start, start + count)]


async def test_an_undefined_windows_1252_byte_imports_nothing_and_names_its_line(
    db: Database, tmp_path: Path
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "excel.csv"
    lines = ["telefono,nombre", *_rows(1500, name="José")]
    lines.insert(1201, "+54 9 11 6000-0000,Mar\udc81a")  # byte 0x81 is no character in cp1252
    path.write_bytes("\r\n".join(lines).encode("cp1252", errors="surrogateescape"))

    with pytest.raises(InvalidInput) as caught:
        await import_csv(db, "haby", path, batch_rows=100)
    message = str(caught.value)
    assert "line 1202" in message and "0x81" in message
    assert "nothing was imported" in message and "UTF-8" in message
    assert await ContactRepo(db).count(client_id) == 0


async def test_utf8_that_breaks_after_64_kib_imports_nothing(db: Database, tmp_path: Path) -> None:
    client_id = await _haby(db)
    path = tmp_path / "mixed.csv"
    head = "\n".join(["phone,name", *_rows(3000, name="José")]) + "\n"
    assert len(head.encode()) > 65536
    path.write_bytes(head.encode() + "+54 9 11 6000-0000,Inés\n".encode("cp1252"))

    with pytest.raises(InvalidInput) as caught:
        await import_csv(db, "haby", path, batch_rows=100)
    message = str(caught.value)
    assert "line 3002" in message and "not valid UTF-8" in message
    assert "nothing was imported" in message
    assert await ContactRepo(db).count(client_id) == 0


async def test_ascii_for_64_kib_then_windows_1252_is_read_as_windows_1252(
    db: Database, tmp_path: Path
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "late-accent.csv"
    text = "\n".join(["phone,name", *_rows(3000), "+54 9 11 6000-0000,Inés"]) + "\n"
    path.write_bytes(text.encode("cp1252"))
    report = await import_csv(db, "haby", path)
    assert (report.added, report.committed, report.rejected) == (3001, 3001, [])
    assert (await ContactRepo(db).get(client_id, "5491160000000")).name == "Inés"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-16-le"])
async def test_unicode_text_from_excel_is_detected_by_its_bom(
    db: Database, tmp_path: Path, encoding: str
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "unicode.txt"
    text = "Teléfono\tNombre\tBarrio\r\n+54 9 11 1234-5678\tJosé\tNúñez\r\n1187654321\tZoë\t\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data  # utf-16-le stays without a mark: found by its NULs
    path.write_bytes(data)
    report = await import_csv(db, "haby", path)
    assert (report.added, report.rejected) == (2, [])
    jose = await ContactRepo(db).get(client_id, "5491112345678")
    assert jose.name == "José" and jose.fields == {"barrio": "Núñez"}
    assert (await ContactRepo(db).get(client_id, "541187654321")).name == "Zoë"


async def test_over_long_cells_reject_their_row_and_the_rest_is_imported(
    db: Database, tmp_path: Path
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "long.csv"
    long_note = "x" * (MAX_FIELD_CHARS + 1)
    rows = [
        "phone,name,notas,tags",
        f"+54 9 11 5000-0001,Ana,{'y' * MAX_FIELD_CHARS},vip",
        f"+54 9 11 5000-0002,Beto,{long_note},",
        f"+54 9 11 5000-0003,{'N' * 201},,",
        f"+54 9 11 5000-0004,Carla,,{'t' * 65}",
        f"{'9' * 5000},Dani,,",
    ]
    path.write_text("\n".join(rows) + "\n")
    report = await import_csv(db, "haby", path)
    assert (report.rows, report.added, report.committed) == (5, 1, 1)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, f"the field notas has {MAX_FIELD_CHARS + 1:,} characters, at most {MAX_FIELD_CHARS:,}"),
        (4, "the name has 201 characters, at most 200"),
        (5, "a tag has 65 characters, at most 64"),
        (6, "too long"),
    ]
    assert len(report.rejected[3].value) <= 41, "a rejected value is shortened for the report"
    assert await ContactRepo(db).count(client_id) == 1


@pytest.mark.parametrize("after", [30, 20_000])
async def test_a_quote_that_never_closes_imports_nothing(
    db: Database, tmp_path: Path, after: int
) -> None:
    client_id = await _haby(db)
    path = tmp_path / "quote.csv"
    rows = ["phone,name", *_rows(50), '+54 9 11 6000-0000,"Ana', *_rows(after, start=100)]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InvalidInput) as caught:
        await import_csv(db, "haby", path, batch_rows=10)
    message = str(caught.value)
    assert "line 52" in message and "quote" in message and "nothing was imported" in message
    assert await ContactRepo(db).count(client_id) == 0


async def test_a_database_failure_midway_says_how_many_rows_were_saved(
    db: Database, tmp_path: Path
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("the fault is made with SQLite's own file")
    client_id = await _haby(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE fault_probe (phone TEXT)"))
        await connection.execute(
            text(
                "CREATE TRIGGER fault_probe_on_insert BEFORE INSERT ON contacts "
                "BEGIN INSERT INTO fault_probe VALUES (NEW.phone); END"
            )
        )
    db_file = db.engine.url.database
    assert db_file is not None
    read: list[int] = []

    def break_the_database_after_the_first_chunk(count: int) -> None:
        read.append(count)
        if len(read) == 2:  # a real operational error from then on: the trigger's table is gone
            with sqlite3.connect(db_file) as other:
                other.execute("DROP TABLE fault_probe")

    path = tmp_path / "p.csv"
    path.write_text("\n".join(["phone,name", *_rows(5000)]) + "\n")
    with pytest.raises(ImportInterrupted) as caught:
        await import_csv(
            db, "haby", path, batch_rows=100, on_bytes=break_the_database_after_the_first_chunk
        )
    saved = caught.value.report.committed
    assert 0 < saved < 5000 and saved % 100 == 0
    assert caught.value.line == saved + 2, "the first line of the batch that failed"
    assert f"{saved:,} rows were saved" in str(caught.value)
    assert await ContactRepo(db).count(client_id) == saved


def test_exported_cells_cannot_start_a_formula() -> None:
    rows = [
        ['=HYPERLINK("http://x")', "+5491112345678", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"],
        ["Ana", "5491112345678", "", "ok=1", "'quoted", 42, None],
    ]
    data = csv_bytes(["a", "b", "c", "d", "e", "f", "g"], rows)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert parsed[1] == [
        '\'=HYPERLINK("http://x")',
        "'+5491112345678",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "'\nx",
    ]
    assert parsed[2] == ["Ana", "5491112345678", "", "ok=1", "'quoted", "42", ""]
