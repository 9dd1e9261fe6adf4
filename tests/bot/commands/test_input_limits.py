"""Hostile or broken input at the commands: templates, imported files and CSV exports.

Uses `ops`, the operational world of test_operations (real services, real database, fake
numbers), shared through conftest.
"""

from __future__ import annotations

import csv
import io

from engine.campaign.templates import MAX_TEMPLATE_CHARS
from engine.directory import Directory
from storage.records import ContactInput
from storage.repos import ContactRepo
from tests.bot.commands.test_operations import OPERATOR, VIEWER, Ops, _campaign_id


async def _contacts(ops: Ops, *people: tuple[str, str]) -> None:
    client = (await Directory(ops.db).clients.get("haby")).id
    await ContactRepo(ops.db).upsert_many(
        client,
        [ContactInput(phone, name, ("feria",), {"ciudad": "Rosario"}) for phone, name in people],
    )


async def test_a_misspelt_field_is_flagged_at_creation_and_in_the_preview(ops: Ops) -> None:
    await _contacts(ops, ("5491150000001", "Ana"))
    created = await ops.run(OPERATOR, "/campaign new haby main feria Hola {nmae|amigo} de {cuidad}")
    cid = _campaign_id(created)
    assert "{nmae|…} is read as a choice between words, not as the field {name}" in created.said
    assert "No contact has the field {cuidad}, so it stays empty: did you mean {ciudad}?" in (
        created.said
    )
    preview = await ops.run(VIEWER, f"/campaign preview {cid}")  # a Spanish-speaking viewer
    assert "+5491150000001: Hola" in preview.said
    assert "{nmae|…} se lee como una elección entre palabras" in preview.said
    clean = await ops.run(OPERATOR, "/campaign new haby main feria {Hola|Buenas} {name}")
    assert "⚠️" not in clean.said


async def test_an_over_long_template_is_refused_saying_the_limit(ops: Ops) -> None:
    await _contacts(ops, ("5491150000001", "Ana"))
    long_text = "Hola " + "a" * MAX_TEMPLATE_CHARS
    refused = await ops.run(OPERATOR, f"/campaign new haby main feria {long_text}")
    assert f"at most {MAX_TEMPLATE_CHARS:,} are allowed: shorten it" in refused.said
    assert ops.incidents == []


async def test_a_broken_file_imports_nothing_and_names_its_line(ops: Ops) -> None:
    rows = [f"+54 9 11 5000-{i:04d},José {i}" for i in range(300)]
    rows.insert(150, "+54 9 11 6000-0000,Mar\udc81a")  # 0x81: no character in Windows-1252
    data = "\n".join(["telefono,nombre", *rows]).encode("cp1252", errors="surrogateescape")
    answer = await ops.run(
        OPERATOR, "/import haby feria", attachment_name="lista.csv", attachment=data
    )
    assert "line 152: byte 0x81" in answer.said and "nothing was imported" in answer.said
    assert ops.incidents == [], "an expected error, not an unexpected one"
    client = (await Directory(ops.db).clients.get("haby")).id
    assert await ContactRepo(ops.db).count(client) == 0


async def test_exported_cells_never_start_a_formula(ops: Ops) -> None:
    rows = ["telefono,nombre"] + [f'=HYPERLINK("http://x/{i}"),Nadie' for i in range(40)]
    rows.append("+5491150000001,=cmd|'/c calc'!A0")
    answer = await ops.run(
        OPERATOR,
        "/import haby feria",
        attachment_name="lista.csv",
        attachment="\n".join(rows).encode(),
    )
    assert "41 rows: 1 added" in answer.said and "1 saved" in answer.said
    [(name, data, _caption)] = answer.files
    assert name == "lista.rejected.csv"
    rejected = list(csv.reader(io.StringIO(data.decode())))
    assert rejected[1] == ["2", '\'=HYPERLINK("http://x/0")', "not a phone number"]

    cid = _campaign_id(await ops.run(OPERATOR, "/campaign new haby main feria Hola"))
    launched = await ops.confirm(OPERATOR, await ops.run(OPERATOR, f"/campaign launch {cid}"))
    assert "is running" in launched.said
    await ops.engine.run_until_idle()
    report = await ops.run(VIEWER, f"/campaign report {cid}")
    [(_name, data, _caption)] = report.files
    [row] = list(csv.DictReader(io.StringIO(data.decode())))
    assert row["name"] == "'=cmd|'/c calc'!A0" and row["phone"] == "5491150000001"
