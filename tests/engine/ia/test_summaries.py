"""Digest and forward summaries: budgeted, recorded, cached and rate-limited per client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import VirtualClock
from engine.digests import DigestBuilder
from engine.ia.openai_client import OpenAIClient
from engine.ia.summaries import SUMMARY_INPUT_CHARS, Withheld
from storage.db import Database
from storage.records import Client, Direction, Message, NewMessage, Origin
from storage.repos import AICallRepo, ClientRepo, ContactRepo, MessageRepo
from tests.support.budget import spend_budget
from tests.support.fakes.openai_server import FakeOpenAI, Reply

NOON = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires
INTERVAL_S = 600.0


@dataclass
class Env:
    db: Database
    fake: FakeOpenAI
    builder: DigestBuilder
    clock: VirtualClock
    client: Client

    async def chat(self, phone: str, *bodies: str) -> list[Message]:
        contact = await ContactRepo(self.db).ensure(self.client.id, phone)
        messages = MessageRepo(self.db)
        for n, body in enumerate(bodies):
            await messages.add(
                NewMessage(
                    self.client.id,
                    contact.id,
                    Direction.IN if n % 2 == 0 else Direction.OUT,
                    Origin.CONTACT if n % 2 == 0 else Origin.AI,
                    body,
                    NOON - timedelta(hours=1) + timedelta(minutes=n),
                )
            )
        return list(reversed(await messages.conversation(contact.id, 30)))

    async def calls(self) -> int:
        return await AICallRepo(self.db).tokens_since(self.client.id, NOON - timedelta(days=1))


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    clock = VirtualClock(NOON)
    async with (
        FakeOpenAI() as fake,
        OpenAIClient(api_key="test", base_url=fake.base_url, timeout_s=2, max_retries=0) as llm,
    ):
        builder = DigestBuilder(
            db, llm, model="gpt-test", summary_interval_s=INTERVAL_S, clock=clock
        )
        yield Env(db, fake, builder, clock, client)
        fake.assert_no_unexpected()


async def test_a_forward_summary_is_recorded_like_a_reply(env: Env) -> None:
    chat = await env.chat("5491111111111", "hola, precio del 2 ambientes?", "500 mil", "gracias")
    env.fake.script(Reply("Pregunta precio; respondido.", prompt_tokens=70, completion_tokens=5))

    summary = await env.builder.summarize(env.client, chat)

    assert summary.text == "Pregunta precio; respondido." and summary.withheld is None
    assert await env.calls() == 75
    [request] = env.fake.requests
    assert request["max_completion_tokens"] <= 80


async def test_a_repeat_gets_the_cached_summary_and_another_chat_waits(env: Env) -> None:
    ana = await env.chat("5491111111111", "hola", "hola, ¿en qué te ayudo?")
    beto = await env.chat("5492222222222", "precio?", "500 mil")
    env.fake.script(Reply("Ana saluda."), Reply("Beto pregunta precio."))

    first = await env.builder.summarize(env.client, ana)
    again = await env.builder.summarize(env.client, ana)
    other = await env.builder.summarize(env.client, beto)

    assert first.text == again.text == "Ana saluda."
    assert other.text is None and other.withheld is Withheld.RATE_LIMITED
    assert other.retry_at == NOON + timedelta(seconds=INTERVAL_S)
    assert len(env.fake.requests) == 1, "a repeat costs nothing"
    env.clock.advance_to(NOON + timedelta(seconds=INTERVAL_S))
    assert (await env.builder.summarize(env.client, beto)).text == "Beto pregunta precio."
    assert len(env.fake.requests) == 2


async def test_one_digest_is_one_request_and_a_repeat_within_the_interval_is_cached(
    env: Env,
) -> None:
    await env.chat("5491111111111", "hola", "buenas")
    await env.chat("5492222222222", "precio?", "500 mil")
    env.fake.script(Reply("Resumen 1"), Reply("Resumen 2"))
    start, end = NOON - timedelta(days=1), NOON

    digest = await env.builder.build("haby", start, end, on_demand=True)
    assert sorted(c.summary or "" for c in digest.conversations) == ["Resumen 1", "Resumen 2"]
    assert digest.summaries_withheld is None
    repeat = await env.builder.build("haby", start, end, on_demand=True)
    assert [c.summary for c in repeat.conversations] == [c.summary for c in digest.conversations]
    assert len(env.fake.requests) == 2

    await env.chat("5493333333333", "¿tienen cochera?")
    env.fake.script(Reply("Carla pregunta por cochera."))
    limited = await env.builder.build("haby", start, end, on_demand=True)
    assert limited.summaries_withheld is Withheld.RATE_LIMITED
    assert limited.summaries_retry_at == NOON + timedelta(seconds=INTERVAL_S)
    assert sum(c.summary is None for c in limited.conversations) == 1
    scheduled = await env.builder.build("haby", start, end)  # the schedule is not limited
    assert all(c.summary for c in scheduled.conversations)
    assert len(env.fake.requests) == 3


async def test_no_summary_once_the_daily_budget_is_spent(env: Env) -> None:
    await spend_budget(
        env.db, env.client.id, budget=1_000, spent=990, at=NOON - timedelta(minutes=5)
    )
    chat = await env.chat("5491111111111", "hola, precio?", "500 mil")

    summary = await env.builder.summarize(env.client, chat)

    assert summary.text is None and summary.withheld is Withheld.BUDGET_SPENT
    assert env.fake.requests == []
    env.clock.advance_to(NOON + timedelta(hours=13))  # 01:00 next day in Buenos Aires: a new day
    env.fake.script(Reply("Pregunta precio."))
    assert (await env.builder.summarize(env.client, chat)).text == "Pregunta precio."


async def test_what_is_sent_for_a_summary_is_bounded(env: Env) -> None:
    chat = await env.chat("5491111111111", *(f"mensaje {n} " + "x" * 5_000 for n in range(40)))
    env.fake.script(Reply("Mucho texto."))

    await env.builder.summarize(env.client, chat)

    [request] = env.fake.requests
    sent = request["messages"][1]["content"]
    assert len(sent) <= SUMMARY_INPUT_CHARS and "mensaje 39" in sent
