"""The intent classifier through the real listener: it spends from the client's daily budget."""

from __future__ import annotations

from tests.engine.inbound.env import Env
from tests.support.budget import spend_budget


async def test_a_spent_budget_keeps_the_classifier_from_the_model(env: Env) -> None:
    await spend_budget(env.db, env.haby.client_id, budget=1000, spent=995)
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
