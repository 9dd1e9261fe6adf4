from __future__ import annotations

import random

import pytest

from engine.errors import InvalidInput
from engine.templates import Template

JUAN = {"name": "Juan", "City": "Rosario", "phone": "5491112345678"}


def render(text: str, fields: dict[str, str], *, seed: int = 0, known: tuple[str, ...] = ()) -> str:
    return Template.parse(text, known).render(fields, random.Random(seed))


def all_renders(template: Template, fields: dict[str, str], tries: int = 400) -> set[str]:
    rng = random.Random(1)
    return {template.render(fields, rng) for _ in range(tries)}


def test_placeholders_from_contact_fields_case_insensitive() -> None:
    assert render("Hola {name}, ¿qué tal por {city}?", JUAN) == "Hola Juan, ¿qué tal por Rosario?"
    assert render("{NAME} / {Phone}", JUAN) == "Juan / 5491112345678"
    assert Template.parse("Hola {Name} de {ciudad|tu ciudad}", ["Ciudad"]).placeholders() == {
        "name",
        "ciudad",
    }


def test_defaults_apply_when_the_field_is_missing_or_blank() -> None:
    assert render("Hola {name|amigo}!", {}) == "Hola amigo!"
    assert render("Hola {name|amigo}!", {"name": "  "}) == "Hola amigo!"
    assert render("Hola {name|amigo}!", JUAN) == "Hola Juan!"
    assert render("Te escribo de {city|tu zona}", {}, known=("city",)) == "Te escribo de tu zona"


def test_missing_field_without_default_leaves_natural_text() -> None:
    assert render("Hola {name}, ¿cómo estás?", {}) == "Hola, ¿cómo estás?"
    assert render("Hola {name} ¿cómo estás?", {}) == "Hola ¿cómo estás?"
    assert render("  Hola {name}!  \n  Saludos  ", {}) == "Hola!\nSaludos"
    assert render("Hola {name} {city} y bienvenido", {}) == "Hola y bienvenido"


def test_spintax_picks_every_option_with_a_seeded_random() -> None:
    template = Template.parse("{Hola|Buenas|Qué tal} {name}")
    assert all_renders(template, JUAN) == {"Hola Juan", "Buenas Juan", "Qué tal Juan"}
    first = [template.render(JUAN, random.Random(42)) for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same text


def test_nested_spintax_and_placeholders_inside_options() -> None:
    template = Template.parse("{Hola {name|}|Buenas}, te cuento{| algo}.")
    assert all_renders(template, JUAN) == {
        "Hola Juan, te cuento.",
        "Hola Juan, te cuento algo.",
        "Buenas, te cuento.",
        "Buenas, te cuento algo.",
    }
    assert all_renders(template, {}) == {
        "Hola, te cuento.",
        "Hola, te cuento algo.",
        "Buenas, te cuento.",
        "Buenas, te cuento algo.",
    }
    assert all_renders(Template.parse("{a|{b|c}}"), {}) == {"a", "b", "c"}
    assert all_renders(Template.parse("Hola {name|amigo|che}"), {}) == {"Hola amigo", "Hola che"}


def test_identifier_groups_are_spintax_unless_the_first_is_a_known_field() -> None:
    assert all_renders(Template.parse("{Hola|Buenas}"), JUAN) == {"Hola", "Buenas"}
    assert all_renders(Template.parse("{ciudad|tu zona}"), {"ciudad": "Salta"}) == {
        "ciudad",
        "tu zona",
    }
    with_field = Template.parse("{ciudad|tu zona}", ["ciudad"])
    assert all_renders(with_field, {"ciudad": "Salta"}) == {"Salta"}
    assert with_field.placeholders() == {"ciudad"}


def test_double_braces_are_literal_outside_groups() -> None:
    assert render("Usá el código {{PROMO}} hoy", {}) == "Usá el código {PROMO} hoy"
    assert render("{{{name}}}", JUAN) == "{Juan}"
    assert render("a }} b | c", {}) == "a } b | c"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Hola {name", "line 1, column 6: '{' is never closed"),
        ("Hola\n{Hola|Buenas", "line 2, column 1: '{' is never closed"),
        ("Hola } amigo", "line 1, column 6: '}' has no matching '{'"),
        ("Hola {name}} amigo", "line 1, column 12: '}' has no matching '{'"),
        ("Hola {}", "line 1, column 6: {} is neither a field"),
        ("Hola {Hola amigo}", "line 1, column 6: {Hola amigo} is neither a field"),
        ("{a|{x y}}", "line 1, column 4"),
        ("   ", "empty"),
    ],
)
def test_bad_templates_are_refused_saying_where(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Template.parse(text)
    assert where in str(caught.value)


def test_variant_count_for_the_preview() -> None:
    assert Template.parse("Hola {name}").variant_count() == 1
    assert (
        Template.parse("{Hola|Buenas|Qué tal} {name}, {te escribo|te cuento}").variant_count() == 6
    )
    assert Template.parse("{Hola {name|}|Buenas} {a|{b|c}}").variant_count() == 6
    assert Template.parse("{Hola|Hola|Buenas}").variant_count() == 2
    assert Template.parse("{{literal}}").variant_count() == 1
