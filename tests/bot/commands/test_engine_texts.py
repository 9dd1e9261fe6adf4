"""Engine errors and import rejections reach each operator in their language, reasons inside
reasons included; an English operator reads what they always read."""

from __future__ import annotations

import copy
import csv
import io

from bot.commands.base import Denied
from bot.texts import phrase, render, t
from engine.campaign.pacing import PacingPolicy
from engine.directory import Directory
from engine.errors import InvalidInput
from engine.phones import InvalidPhone, parse_phone
from engine.texts import Text
from tests.bot.commands.test_operations import OPERATOR, Ops

SPANISH = "tg:5"


async def _spanish_operator(ops: Ops) -> None:
    await Directory(ops.db).add_operator(SPANISH, "operator", ["haby"], language="es")


async def test_a_phone_error_reads_in_each_language_with_its_reason(ops: Ops) -> None:
    await _spanish_operator(ops)
    english = await ops.run(OPERATOR, "/reply haby 123 hola")
    assert english.texts == [
        "Could not do it: '123' is not a phone number (too short for region AR (+54)): "
        "write it like +5491112345678"
    ]
    spanish = await ops.run(SPANISH, "/reply haby 123 hola")
    assert spanish.texts == [
        "No se pudo: '123' no es un número de teléfono (demasiado corto para la región "
        "AR (+54)): escribilo como +5491112345678"
    ]
    assert ops.incidents == []


async def test_a_template_error_names_the_place_in_spanish(ops: Ops) -> None:
    await _spanish_operator(ops)
    broken = await ops.run(SPANISH, "/campaign new haby main feria Hola {name")
    assert broken.texts == [
        "No se pudo: plantilla, línea 1, columna 6: '{' nunca se cierra; "
        "escribí '{{' para una llave literal"
    ]


async def test_import_rejections_are_translated_in_the_reply_and_in_the_file(ops: Ops) -> None:
    await _spanish_operator(ops)
    rows = ["telefono,nombre", "+5491150000001,Ana", "+54 9 11 5000-0001,Ana otra vez"]
    rows += [
        f"hola{'a' * i},X" for i in range(31)
    ]  # more than the reply shows: the rest go as a file
    answer = await ops.run(
        SPANISH, "/import haby", attachment_name="lista.csv", attachment="\n".join(rows).encode()
    )
    assert "línea 3: +54 9 11 5000-0001 — repetida de la línea 2 (+5491150000001)" in answer.said
    assert "línea 4: hola — no es un número de teléfono" in answer.said
    assert "duplicate" not in answer.said and "not a phone" not in answer.said
    [(_name, data, caption)] = answer.files
    assert caption == "Todas las filas rechazadas, con su línea y motivo."
    table = list(csv.reader(io.StringIO(data.decode())))
    assert table[0] == ["línea", "valor", "motivo"]
    line, _value, reason = table[1]  # the value is quoted against formulas (csv_bytes)
    assert (line, reason) == ("3", "repetida de la línea 2 (+5491150000001)")
    assert {row[2] for row in table[2:]} == {"no es un número de teléfono"}


def test_a_reason_inside_a_reason_is_said_in_the_language_around_it() -> None:
    with_key = InvalidInput("pace.unknown_key", key="gap", known="gap_s")  # `key` is a parameter
    assert str(with_key) == "unknown pacing key 'gap'; known keys: gap_s"
    try:
        PacingPolicy.from_dict({"gap_s": "60-20"})
    except InvalidInput as exc:
        caught = exc
    assert str(caught) == "pacing gap_s: the maximum must not be below the minimum in '60-20'"
    assert t("es", "error.invalid", detail=caught.text) == (
        "No se pudo: ritmo gap_s: el máximo no puede ser menor que el mínimo en '60-20'"
    )
    assert t("en", "error.invalid", detail=caught.text) == f"Could not do it: {caught}"


def test_a_reason_stays_a_text_with_its_key_wherever_it_goes() -> None:
    try:
        parse_phone("+999 1234567", "AR")
    except InvalidPhone as exc:
        reason = exc.reason
    assert reason == "unknown country code" and isinstance(reason, Text)
    for kept in (copy.copy(reason), copy.deepcopy([reason])[0]):
        assert isinstance(kept, Text) and render("es", kept) == "código de país desconocido"


def test_an_adapter_hint_inside_a_refusal_follows_the_operator() -> None:
    refusal = Denied("private.unreachable", command="/conv", hint=phrase("slack.private_hint"))
    assert "abrí un chat privado con la app (Aplicaciones > waops > Mensajes)" in refusal.text("es")
    assert "open a private chat with the app (Apps > waops > Messages)" in refusal.text("en")


async def test_storage_errors_read_in_each_language(ops: Ops) -> None:
    """A record that does not exist: storage's own text, said in the operator's language."""
    await _spanish_operator(ops)
    english = await ops.run(OPERATOR, "/conv haby +5491155559999")
    assert english.texts == ["Could not do it: no contact with phone +5491155559999"]
    spanish = await ops.run(SPANISH, "/conv haby +5491155559999")
    assert spanish.texts == ["No se pudo: no hay ningún contacto con el teléfono +5491155559999"]
    assert "no existe la campaña 999" in (await ops.run(SPANISH, "/campaign status 999")).said
