from __future__ import annotations

import random
import re

import pytest

from engine.campaign.templates import (
    EMPTY,
    MAX_NESTING,
    MAX_TEMPLATE_CHARS,
    FieldWarning,
    Template,
    tidy,
)
from engine.errors import InvalidInput

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


def test_long_runs_of_blanks_in_a_field_collapse_to_one_space() -> None:
    # A CSV field of 60,000 spaces (or tabs) once took seconds per recipient; the text is the same.
    city = "Villa" + " " * 60_000 + "Crespo" + " \t" * 30_000 + "Norte"
    assert render("Hola {name} de {ciudad}!", {"ciudad": city}, known=("ciudad",)) == (
        "Hola de Villa Crespo Norte!"
    )
    assert render("Hola {name}" + " " * 3_000 + ", ¿cómo estás?", {}) == "Hola, ¿cómo estás?"


def _reference_tidy(text: str) -> str:
    """The spacing rules as first written with regular expressions (quadratic on long runs)."""
    text = re.sub(f"[ \\t]*{EMPTY}[{EMPTY} \\t]*(?=[,.;:!?)])", "", text).replace(EMPTY, "")
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]*\n[ \t]*", "\n", text).strip()


def test_the_linear_tidy_keeps_the_spacing_rules() -> None:
    rng = random.Random(7)
    pieces = [" ", "  ", "\t", "\n", EMPTY, ",", ".", "?", ")", "a", "bc", "\r", "¿"]
    for _ in range(3_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        assert tidy(text) == _reference_tidy(text), repr(text)


def test_nesting_is_bounded_with_a_clear_error() -> None:
    deep = "{a|" * MAX_NESTING + "b" + "}" * MAX_NESTING
    assert all_renders(Template.parse(deep), {}, tries=50) <= {"a", "b"}
    with pytest.raises(InvalidInput, match=rf"nest more than {MAX_NESTING} deep"):
        Template.parse("{a|" * (MAX_NESTING + 1) + "b" + "}" * (MAX_NESTING + 1))
    with pytest.raises(InvalidInput, match="line 1, column 31: groups nest more than"):
        Template.parse("{a|" * 1_200 + "b" + "}" * 1_200)  # was a RecursionError


def test_the_template_size_is_capped_for_new_campaigns() -> None:
    at_limit = "x" * MAX_TEMPLATE_CHARS
    assert Template.parse(at_limit, max_chars=MAX_TEMPLATE_CHARS).text == at_limit
    with pytest.raises(InvalidInput) as caught:
        Template.parse(at_limit + "!", max_chars=MAX_TEMPLATE_CHARS)
    message = str(caught.value)
    assert f"{MAX_TEMPLATE_CHARS + 1:,} characters" in message
    assert f"at most {MAX_TEMPLATE_CHARS:,}" in message and "shorten" in message
    assert Template.parse(at_limit + "!").text.endswith("!"), "stored campaigns still parse"


def test_a_choice_that_looks_like_a_misspelt_field_is_flagged() -> None:
    template = Template.parse("Hola {nmae|amigo}, ¿seguís en {Cuidad}? {Hola|Buenas}", ["ciudad"])
    assert template.warnings == (
        FieldWarning("nmae", "name", as_choice=True),
        FieldWarning("cuidad", "ciudad", as_choice=False),
    )
    assert all_renders(template, JUAN) >= {"Hola nmae, ¿seguís en? Hola"}, "still spintax"
    assert Template.parse("{Hola|Buenas} {name|amigo} {ciudad}", ["ciudad"]).warnings == ()
    unknown = Template.parse("Te esperamos en {sucursal}", ["ciudad"])
    assert unknown.warnings == (FieldWarning("sucursal", None, as_choice=False),)
    assert Template.parse("{nmae|a} {nmae|b} {NMAE|c}").warnings == (
        FieldWarning("nmae", "name", as_choice=True),
    ), "one warning per word"
