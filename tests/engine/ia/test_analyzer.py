"""Intent rules in Spanish and English, and the model analyzer with its fallbacks."""

from __future__ import annotations

import pytest

from engine.ia.analyzer import (
    CLASSIFY_MAX_CHARS,
    Analysis,
    Intent,
    ModelAnalyzer,
    classify_by_rules,
    is_opt_out,
    parse_label,
)
from engine.ia.openai_client import OpenAIClient
from tests.support.fakes.openai_server import FakeOpenAI, Reply, Status


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("BAJA", Intent.OPT_OUT),
        ("baja.", Intent.OPT_OUT),
        ("Baja por favor 🙏", Intent.OPT_OUT),
        ("STOP", Intent.OPT_OUT),
        ("stop please", Intent.OPT_OUT),
        ("No me escriban más!!", Intent.OPT_OUT),
        ("Unsubscribe", Intent.OPT_OUT),
        ("quiero hablar con una persona", Intent.WANTS_HUMAN),
        ("Me pasás con un HUMANO?", Intent.WANTS_HUMAN),
        ("necesito un asesor", Intent.WANTS_HUMAN),
        ("Can I talk to a real person", Intent.WANTS_HUMAN),
        ("operator please", Intent.WANTS_HUMAN),
        ("Quiero comprar el depto de Palermo", Intent.HOT_LEAD),
        ("¿Cuánto cuesta?", Intent.HOT_LEAD),
        ("PRECIO del 2 ambientes", Intent.HOT_LEAD),
        ("me interesa", Intent.HOT_LEAD),
        ("How much is it?", Intent.HOT_LEAD),
        ("I want to buy two", Intent.HOT_LEAD),
        ("¿Abren los sábados?", Intent.QUESTION),
        ("donde quedan", Intent.QUESTION),
        ("Do you deliver to Córdoba", Intent.QUESTION),
        ("por qué no contestan", Intent.QUESTION),
        ("gracias!", Intent.OTHER),
        ("Perfecto, nos vemos", Intent.OTHER),
        ("ok thanks", Intent.OTHER),
    ],
)
def test_rules(text: str, intent: Intent) -> None:
    assert classify_by_rules(text) is intent


@pytest.mark.parametrize(
    "text",
    [
        "no me des de baja",
        "stop by the shop tomorrow",
        "Quiero saber si puedo pedir la baja después",
        "aprecio la ayuda",  # "precio" only as a whole word
    ],
)
def test_keywords_inside_sentences_are_not_opt_outs(text: str) -> None:
    assert classify_by_rules(text) is not Intent.OPT_OUT


def test_negated_requests_do_not_count() -> None:
    assert classify_by_rules("no quiero hablar con un humano") is Intent.OTHER
    assert classify_by_rules("I don't want to buy anything") is Intent.OTHER
    # a "no" elsewhere does not cancel a request for a person
    assert classify_by_rules("no me contestan, quiero hablar con una persona") is (
        Intent.WANTS_HUMAN
    )


def test_opt_out_keywords_are_configurable() -> None:
    assert is_opt_out("CANCELAR", ("cancelar", "fuera"))
    assert not is_opt_out("baja", ("cancelar",))
    assert is_opt_out("baja", ())  # empty means the defaults


@pytest.mark.parametrize(
    ("answer", "intent"),
    [
        ("hot_lead", Intent.HOT_LEAD),
        (" Wants_Human.\n", Intent.WANTS_HUMAN),
        ('{"intent": "question"}', Intent.QUESTION),
        ("It is a hot lead", None),
        ('{"intent": 3}', None),
        ("{not json", None),
        ("buy", None),
    ],
)
def test_parse_label_is_strict(answer: str, intent: Intent | None) -> None:
    assert parse_label(answer) is intent


async def test_model_label_is_used(fake_openai: FakeOpenAI, llm: OpenAIClient) -> None:
    fake_openai.script(Reply("wants_human", prompt_tokens=40, completion_tokens=2))

    analysis = await ModelAnalyzer(llm, model="gpt-mini").classify("me atienden?")

    assert analysis.intent is Intent.WANTS_HUMAN
    assert analysis.by_model and analysis.tokens_used == 42
    [request] = fake_openai.requests
    assert request["model"] == "gpt-mini"
    assert request["max_completion_tokens"] <= 10
    assert request["messages"][1] == {"role": "user", "content": "me atienden?"}


@pytest.mark.parametrize("answer", [Reply("Sure! This looks like a lead."), Status(500)])
async def test_model_trouble_falls_back_to_rules(
    fake_openai: FakeOpenAI, llm: OpenAIClient, answer: Reply | Status
) -> None:
    fake_openai.script(*[answer] * 3)

    analysis = await ModelAnalyzer(llm, model="m").classify("¿cuánto cuesta el alquiler?")

    assert analysis.intent is Intent.HOT_LEAD
    assert not analysis.by_model


async def test_opt_out_keyword_wins_without_a_call(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    analysis = await ModelAnalyzer(llm, model="m").classify("BAJA")

    assert analysis.intent is Intent.OPT_OUT
    assert fake_openai.requests == []


async def test_a_long_message_is_cut_before_it_reaches_the_model(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    fake_openai.script(Reply("question", prompt_tokens=300, completion_tokens=1))
    body = "Hola, les cuento mi situación. " + "bla " * 15_000 + "¿Cuánto cuesta el alquiler?"

    await ModelAnalyzer(llm, model="m").classify(body, tokens_left=10_000)

    [request] = fake_openai.requests
    sent = request["messages"][1]["content"]
    assert len(sent) <= CLASSIFY_MAX_CHARS
    assert sent.startswith("Hola, les cuento") and sent.endswith("¿Cuánto cuesta el alquiler?")


async def test_no_model_call_when_the_budget_left_today_does_not_cover_it(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    analyzer = ModelAnalyzer(llm, model="m")
    spent = await analyzer.classify("¿cuánto cuesta el alquiler?", tokens_left=30)

    assert spent == Analysis(Intent.HOT_LEAD, by_model=False, tokens_used=0, over_budget=True)
    assert fake_openai.requests == []
    fake_openai.script(Reply("hot_lead", prompt_tokens=90, completion_tokens=1))
    enough = await analyzer.classify("¿cuánto cuesta el alquiler?", tokens_left=500)
    assert enough.by_model and not enough.over_budget
