"""The intent classifier through the real listener: it spends from the client's daily budget."""

from __future__ import annotations

from engine.clock import utcnow
from storage.records import AICall
from storage.repos import AICallRepo, AISettingsRepo
from tests.engine.inbound.env import Env


async def test_a_spent_budget_keeps_the_classifier_from_the_model(env: Env) -> None:
    await AISettingsRepo(env.db).update(env.haby.client_id, daily_token_budget=1000)
    await AICallRepo(env.db).record(
        AICall(env.haby.client_id, None, utcnow(), "reply", "gpt-test", True, 995)
    )
    await env.inbound("¿cuánto cuesta el sillón de 3 cuerpos?")
    await env.listener.run_until_idle()
    assert env.fake.classifications == [], "no model call the budget does not cover"
    assert env.fake.requests == []
    assert await env.conversation() == [("in", "contact", "¿cuánto cuesta el sillón de 3 cuerpos?")]


async def test_the_classifier_sees_a_bounded_excerpt(env: Env) -> None:
    body = "Hola! " + "les cuento que " * 5_000 + "¿cuánto cuesta?"
    env.fake.label("hot_lead")
    await env.inbound(body)
    await env.listener.run_until_idle()
    [classification] = env.fake.classifications
    sent = classification["messages"][1]["content"]
    assert len(sent) <= 1_000 and sent.endswith("¿cuánto cuesta?")
