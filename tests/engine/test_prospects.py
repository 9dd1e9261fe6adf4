"""CSV import: report line by line, idempotent, tolerant of Spanish spreadsheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.prospects import RejectedRow, import_csv
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
