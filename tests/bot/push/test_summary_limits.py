"""/digest and /forward summaries on a real model client: a viewer repeating them is rate-limited
with a clear message, and a spent daily budget says so instead of calling the model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.commands.alerts import AlertCommands
from bot.commands.dispatcher import Dispatcher
from bot.commands.parsing import parse_request
from bot.commands.registry import CommandRegistry
from bot.push.digests import Digests
from engine.digests import DigestBuilder
from engine.ia.openai_client import OpenAIClient
from storage.records import Direction, NewMessage, Origin
from storage.repos import (
    AICallRepo,
    AuditRepo,
    ContactRepo,
    MessageRepo,
    OperatorRepo,
)
from tests.bot.commands.recording import RecordingReply
from tests.bot.push.conftest import VIEWER, AlertWorld
from tests.support.budget import spend_budget
from tests.support.fakes.openai_server import FakeOpenAI, Reply


@pytest.fixture
async def model() -> AsyncIterator[tuple[FakeOpenAI, OpenAIClient]]:
    async with (
        FakeOpenAI() as fake,
        OpenAIClient(api_key="test", base_url=fake.base_url, timeout_s=2, max_retries=0) as llm,
    ):
        yield fake, llm
        fake.assert_no_unexpected()


async def _chat(world: AlertWorld, phone: str, name: str) -> None:
    contact = await ContactRepo(world.db).ensure(world.haby_id, phone, name=name)
    await MessageRepo(world.db).add(
        NewMessage(
            world.haby_id,
            contact.id,
            Direction.IN,
            Origin.CONTACT,
            "hola, ¿precio?",
            world.clock.now().replace(hour=10),
        )
    )


def _dispatcher(world: AlertWorld, builder: DigestBuilder) -> Dispatcher:
    digests = Digests(world.db, world.router, builder, world.clock)
    commands = AlertCommands(world.db, world.router, world.alerts, digests, clock=world.clock)
    registry = CommandRegistry()
    registry.extend(commands.commands())
    return Dispatcher(
        registry,
        OperatorRepo(world.db),
        AuditRepo(world.db),
        default_language="en",
        clock=world.clock,
    )


async def _run(dispatcher: Dispatcher, text: str) -> RecordingReply:
    reply = RecordingReply()
    request = parse_request(text, actor=VIEWER, platform="telegram", channel=VIEWER[3:])
    assert request is not None
    await dispatcher.dispatch(request, reply)
    return reply


async def test_a_viewer_repeating_summaries_gets_the_cache_or_a_clear_message(
    world: AlertWorld, model: tuple[FakeOpenAI, OpenAIClient]
) -> None:
    fake, llm = model
    await _chat(world, "5491111111111", "Ana")
    await _chat(world, "5491122222222", "Beto")
    builder = DigestBuilder(world.db, llm, model="gpt-test", clock=world.clock)
    dispatcher = _dispatcher(world, builder)
    fake.script(Reply("Ana pregunta precio."))

    first = await _run(dispatcher, "/forward haby 5491111111111")
    again = await _run(dispatcher, "/forward haby 5491111111111")
    other = await _run(dispatcher, "/forward haby 5491122222222")
    await world.router.run_until_idle()

    assert len(fake.requests) == 1, "the repeat was served from the cache"
    summaries = [text for text in world.texts(VIEWER) if "Ana pregunta precio." in text]
    assert len(summaries) == 2
    assert "No new AI summaries" not in first.said + again.said
    assert "No new AI summaries for haby yet" in other.said and "Ask again from" in other.said
    day_ago = world.clock.now() - timedelta(days=1)
    calls = AICallRepo(world.db)
    assert await calls.failures_since(world.haby_id, day_ago) == []
    assert await calls.tokens_since(world.haby_id, day_ago) > 0, "recorded, with its tokens"


async def test_a_spent_budget_says_so_instead_of_calling_the_model(
    world: AlertWorld, model: tuple[FakeOpenAI, OpenAIClient]
) -> None:
    fake, llm = model
    await _chat(world, "5491111111111", "Ana")
    await spend_budget(world.db, world.haby_id, budget=100, spent=100, at=world.clock.now())
    dispatcher = _dispatcher(world, DigestBuilder(world.db, llm, clock=world.clock))

    digest = await _run(dispatcher, "/digest haby 24")

    assert "daily AI token budget is spent" in digest.said
    assert fake.requests == []
