"""Fixtures for engine.ia: the fake OpenAI server, the real SDK client on it, and records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.ia.openai_client import OpenAIClient
from storage.records import AISettings, Direction, Message, MessageStatus, Origin
from tests.support.fakes.openai_server import FakeOpenAI

# Short enough to keep the timeout tests sub-second, long enough for a loaded 2-core machine.
TIMEOUT_S = 0.3
MAX_RETRIES = 2


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake
        fake.assert_no_unexpected()


@pytest.fixture
async def llm(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAIClient]:
    async with OpenAIClient(
        api_key="test-key",
        base_url=fake_openai.base_url,
        timeout_s=TIMEOUT_S,
        max_retries=MAX_RETRIES,
        retry_slack_s=0.5,
    ) as client:
        yield client


AI_SETTINGS = AISettings(
    client_id=1,
    enabled=True,
    model="gpt-test",
    system_prompt="Sos el asistente de Haby Propiedades, inmobiliaria en Palermo.",
    business_context="Horario: lunes a viernes de 9 a 18. Alquileres desde 500 mil pesos.",
    history_window=10,
    max_reply_tokens=300,
    daily_token_budget=200_000,
    fallback_text="Gracias por escribir, en breve te responde alguien del equipo.",
    pause_s=1800,
    debounce_s=2.0,
    groups_enabled=False,
    opt_out_keywords=(),
)


@pytest.fixture
def settings() -> AISettings:
    return AI_SETTINGS


def with_settings(**changes: object) -> AISettings:
    """AI_SETTINGS with some fields changed."""
    return replace(AI_SETTINGS, **changes)  # type: ignore[arg-type]


MessageFactory = Callable[..., Message]


@pytest.fixture
def message() -> MessageFactory:
    """Build stored messages one minute apart, in call order."""
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    counter = iter(range(1, 10_000))

    def build(body: str, *, inbound: bool = True, origin: Origin | None = None) -> Message:
        number = next(counter)
        return Message(
            id=number,
            client_id=1,
            session_id=1,
            contact_id=7,
            direction=Direction.IN if inbound else Direction.OUT,
            origin=origin or (Origin.CONTACT if inbound else Origin.AI),
            wa_message_id=f"wa-{number}",
            body=body,
            type="chat",
            status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT,
            sent_at=start + timedelta(minutes=number),
            campaign_id=None,
        )

    return build
