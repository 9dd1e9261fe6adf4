"""The openai SDK adapter against the fake server: request shape, errors mapped, refusals."""

from __future__ import annotations

import socket

import pytest

from engine.ia.llm import AIError, AIRefused, AIUnavailable, ChatTurn
from engine.ia.openai_client import OpenAIClient
from tests.engine.ia.conftest import MAX_RETRIES, TIMEOUT_S
from tests.support.fakes.openai_server import Delay, FakeOpenAI, Raw, Refusal, Reply, Status

TURNS = [ChatTurn("system", "Sé breve."), ChatTurn("user", "hola, ¿qué tal?")]


async def test_sends_turns_and_reads_usage(fake_openai: FakeOpenAI, llm: OpenAIClient) -> None:
    fake_openai.script(Reply("¡Hola! Todo bien.", prompt_tokens=12, completion_tokens=5))

    completion = await llm.complete(TURNS, model="gpt-test", max_tokens=50, timeout_s=TIMEOUT_S)

    assert completion.text == "¡Hola! Todo bien."
    assert (completion.prompt_tokens, completion.completion_tokens) == (12, 5)
    assert completion.total_tokens == 17
    [request] = fake_openai.requests
    assert request["model"] == "gpt-test"
    assert request["max_completion_tokens"] == 50
    assert request["messages"] == [
        {"role": "system", "content": "Sé breve."},
        {"role": "user", "content": "hola, ¿qué tal?"},
    ]


async def test_max_tokens_field_for_older_servers(fake_openai: FakeOpenAI) -> None:
    async with OpenAIClient(
        api_key="k", base_url=fake_openai.base_url, timeout_s=TIMEOUT_S, token_param="max_tokens"
    ) as client:
        await client.complete(TURNS, model="m", max_tokens=20, timeout_s=TIMEOUT_S)

    [request] = fake_openai.requests
    assert request["max_tokens"] == 20
    assert "max_completion_tokens" not in request


async def test_server_error_is_unavailable_after_the_retries(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    fake_openai.script(*[Status(500)] * (MAX_RETRIES + 1))

    with pytest.raises(AIUnavailable, match="HTTP 500"):
        await llm.complete(TURNS, model="m", max_tokens=50, timeout_s=TIMEOUT_S)

    assert len(fake_openai.requests) == MAX_RETRIES + 1


async def test_a_retry_can_recover(fake_openai: FakeOpenAI, llm: OpenAIClient) -> None:
    fake_openai.script(Status(503), Reply("ok"))

    completion = await llm.complete(TURNS, model="m", max_tokens=50, timeout_s=TIMEOUT_S)

    assert completion.text == "ok"
    assert len(fake_openai.requests) == 2


async def test_rate_limit_is_unavailable(fake_openai: FakeOpenAI, llm: OpenAIClient) -> None:
    fake_openai.script(*[Status(429, code="rate_limit_exceeded")] * (MAX_RETRIES + 1))

    with pytest.raises(AIUnavailable, match="HTTP 429"):
        await llm.complete(TURNS, model="m", max_tokens=50, timeout_s=TIMEOUT_S)


async def test_client_errors_are_not_retried(fake_openai: FakeOpenAI, llm: OpenAIClient) -> None:
    fake_openai.script(Status(404, code="model_not_found"))

    with pytest.raises(AIUnavailable, match="HTTP 404"):
        await llm.complete(TURNS, model="nope", max_tokens=50, timeout_s=TIMEOUT_S)

    assert len(fake_openai.requests) == 1


async def test_timeout_is_unavailable(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Delay(5.0, then=Reply("too late")))
    async with OpenAIClient(
        api_key="k", base_url=fake_openai.base_url, timeout_s=0.2, max_retries=0
    ) as client:
        with pytest.raises(AIUnavailable, match="in time"):
            await client.complete(TURNS, model="m", max_tokens=50, timeout_s=0.2)

    assert len(fake_openai.requests) == 1


async def test_a_long_retry_after_cannot_exceed_the_deadline(fake_openai: FakeOpenAI) -> None:
    # The SDK would honour this 60 s Retry-After; our overall deadline cuts it short.
    fake_openai.script(Status(503, retry_after_ms=60_000))
    async with OpenAIClient(
        api_key="k", base_url=fake_openai.base_url, timeout_s=0.1, max_retries=1, retry_slack_s=0.1
    ) as client:
        with pytest.raises(AIUnavailable, match="in time"):
            await client.complete(TURNS, model="m", max_tokens=50, timeout_s=0.1)


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with OpenAIClient(
        api_key="k", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=0.2, max_retries=0
    ) as client:
        with pytest.raises(AIUnavailable, match="connect"):
            await client.complete(TURNS, model="m", max_tokens=50, timeout_s=0.2)


@pytest.mark.parametrize(
    "answer",
    [Refusal(), Reply("", completion_tokens=0), Reply("algo", finish_reason="content_filter")],
    ids=["refusal", "empty", "content_filter"],
)
async def test_no_usable_answer_is_refused(
    fake_openai: FakeOpenAI, llm: OpenAIClient, answer: Refusal | Reply
) -> None:
    fake_openai.script(answer)

    with pytest.raises(AIRefused) as raised:
        await llm.complete(TURNS, model="m", max_tokens=50, timeout_s=TIMEOUT_S)

    assert raised.value.tokens_used > 0
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        Raw("{}"),
        Raw("[1, 2]"),
        Raw("not json", content_type="text/plain"),
        Raw('{"choices": [{"message": {"content": "hola"}}], "usage": {}}'),
    ],
    ids=["empty-object", "list", "text", "usage-without-counts"],
)
async def test_malformed_answers_are_unavailable(
    fake_openai: FakeOpenAI, llm: OpenAIClient, body: Raw
) -> None:
    fake_openai.script(body)

    with pytest.raises(AIError):
        await llm.complete(TURNS, model="m", max_tokens=50, timeout_s=TIMEOUT_S)

    assert len(fake_openai.requests) == 1
