"""Rule replies: parsing operator text and matching messages."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.ia.rules import RuleReply, RuleSet, parse_rules

RULES = """
# preguntas frecuentes
horario | horarios | opening hours => Abrimos de 9 a 18, de lunes a viernes.
dirección | address => Estamos en Av. Santa Fe 1234, Palermo.
precio del alquiler => Los alquileres arrancan en 500 mil => más expensas.
"""


def test_parse_and_match_in_spanish_and_english() -> None:
    rules = parse_rules(RULES)

    assert len(rules.rules) == 3
    assert rules.answer_for("¿Cuál es el HORARIO?") == "Abrimos de 9 a 18, de lunes a viernes."
    assert rules.answer_for("What are your opening hours?") == rules.rules[0].answer
    assert rules.answer_for("Pasame la direccion") == "Estamos en Av. Santa Fe 1234, Palermo."
    assert rules.answer_for("el PRECIO DEL ALQUILER?") == (
        "Los alquileres arrancan en 500 mil => más expensas."
    )


def test_whole_words_only_and_no_match() -> None:
    rules = parse_rules("hora => Son las 10")

    assert rules.answer_for("¿a qué hora abren?") == "Son las 10"
    assert rules.answer_for("ahora no puedo") is None
    assert rules.answer_for("") is None


def test_first_match_wins() -> None:
    rules = RuleSet((RuleReply(("envio",), "primero"), RuleReply(("envío gratis",), "segundo")))

    assert rules.answer_for("¿Hacen envío gratis?") == "primero"


def test_round_trip_through_text() -> None:
    rules = parse_rules(RULES)

    assert parse_rules(rules.to_text()) == rules


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("horario: 9 a 18", "line 1"),
        ("a => b\n => respuesta", "line 2"),
        ("horario =>  ", "line 1"),
    ],
)
def test_bad_lines_are_reported(text: str, line: str) -> None:
    with pytest.raises(InvalidInput, match=line):
        parse_rules(text)
