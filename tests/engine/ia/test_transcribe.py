"""Transcription through the real openai SDK against the fake: the request the SDK sends, the
charge in tokens (or seconds converted), errors; and `Transcriptions`, which checks the client's
AI switch and daily budget and records every call it makes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.clock import VirtualClock
from engine.ia.budget import AUDIO_TOKENS_PER_SECOND
from engine.ia.llm import AIUnavailable
from engine.ia.openai_client import OpenAIClient
from engine.ia.transcribe import Skip, Transcriptions, audio_filename
from storage.db import Database
from storage.models import AICallRow
from storage.records import AICall, Client
from storage.repos import AICallRepo, AISettingsRepo, ClientRepo
from tests.engine.ia.conftest import TIMEOUT_S
from tests.support.fakes.openai_server import Delay, FakeOpenAI, Heard, Raw, Status

VOICE = b"OggS\x00\x02" + bytes(range(256)) * 20  # 5 KB standing in for an opus voice note
PTT_MIME = "audio/ogg; codecs=opus"
NOON = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)  # noon in Buenos Aires


async def test_the_sdk_sends_the_file_with_its_name_type_model_and_language(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    fake_openai.hear(VOICE, Heard("Hola, ¿tienen turnos el lunes?", input_tokens=40))

    transcript = await llm.transcribe(
        VOICE,
        filename="voice.ogg",
        mimetype=PTT_MIME,
        model="gpt-4o-mini-transcribe",
        timeout_s=TIMEOUT_S,
        language="es",
    )

    assert transcript.text == "Hola, ¿tienen turnos el lunes?"
    assert transcript.tokens == 40 + 5 and transcript.seconds is None
    [request] = fake_openai.transcriptions
    assert (request.model, request.filename, request.mimetype) == (
        "gpt-4o-mini-transcribe",
        "voice.ogg",
        PTT_MIME,
    )
    assert request.sha256 == hashlib.sha256(VOICE).hexdigest()
    assert request.field("language") == "es"
    assert request.field("response_format") is None  # json, the gpt-4o models' only format


async def test_duration_billing_is_converted_to_budget_tokens(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    fake_openai.hear(VOICE, Heard("baja", seconds=4.2))

    transcript = await llm.transcribe(
        VOICE, filename="a.ogg", mimetype="audio/ogg", model="whisper-1", timeout_s=TIMEOUT_S
    )

    assert transcript.seconds == 4.2
    assert transcript.tokens == 42 + 1  # 4.2 s at 10 tokens a second, plus the text
    assert AUDIO_TOKENS_PER_SECOND == 10


async def test_a_name_without_a_known_extension_is_refused_by_the_api(
    fake_openai: FakeOpenAI, llm: OpenAIClient
) -> None:
    with pytest.raises(AIUnavailable, match="HTTP 400"):
        await llm.transcribe(
            VOICE, filename="upload", mimetype=PTT_MIME, model="whisper-1", timeout_s=TIMEOUT_S
        )

    assert fake_openai.transcriptions == []
    assert fake_openai.unexpected == [
        "transcription: Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', "
        "'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"
    ]
    fake_openai.unexpected.clear()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (Status(500), "HTTP 500"),
        (Status(429), "HTTP 429"),
        (Raw('{"no_text": 1}'), "malformed"),
        (Delay(5), "did not answer in time"),
    ],
)
async def test_server_trouble_is_an_ai_error(
    fake_openai: FakeOpenAI, llm: OpenAIClient, step: Status | Raw | Delay, message: str
) -> None:
    fake_openai.script_transcriptions(step, step, step)

    with pytest.raises(AIUnavailable, match=message):
        await llm.transcribe(
            VOICE, filename="a.ogg", mimetype="audio/ogg", model="whisper-1", timeout_s=TIMEOUT_S
        )


@pytest.mark.parametrize(
    ("filename", "mimetype", "expected"),
    [
        (None, PTT_MIME, "audio.ogg"),
        ("nota.opus", "audio/ogg; codecs=opus", "nota.ogg"),
        ("Grabación 3.m4a", "audio/mp4", "Grabación 3.m4a"),
        ("x/../../etc/song.mp3", "audio/mpeg", "song.mp3"),
        (None, "audio/mpeg", "audio.mp3"),
        (None, "audio/aac", None),
        (None, "audio/amr", None),
        ("clip.aac", "audio/aac", None),
    ],
)
def test_the_file_name_names_a_format_the_api_takes(
    filename: str | None, mimetype: str, expected: str | None
) -> None:
    assert audio_filename(filename, mimetype) == expected


@dataclass
class Env:
    db: Database
    fake: FakeOpenAI
    service: Transcriptions
    client: Client
    clock: VirtualClock

    async def calls(self) -> list[AICall]:
        async with self.db.session() as session:
            rows = (await session.scalars(select(AICallRow).order_by(AICallRow.id))).all()
        return [
            AICall(
                r.client_id, r.contact_id, r.at, r.purpose, r.model, r.ok, r.tokens, r.error_kind
            )
            for r in rows
        ]

    async def transcribe(self, data: bytes = VOICE, **extra: object) -> str | None:
        return await self.service.transcribe(
            client_id=self.client.id,
            message_id=99,
            data=data,
            filename=None,
            mimetype=PTT_MIME,
            contact_id=None,
            **extra,  # type: ignore[arg-type]
        )


@pytest.fixture
async def env(db: Database) -> AsyncIterator[Env]:
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    await AISettingsRepo(db).update(client.id, enabled=True, daily_token_budget=10_000)
    clock = VirtualClock(NOON)
    async with (
        FakeOpenAI() as fake,
        OpenAIClient(api_key="k", base_url=fake.base_url, timeout_s=2, max_retries=0) as sdk,
    ):
        service = Transcriptions(
            db, sdk, model="gpt-4o-mini-transcribe", language="es", clock=clock
        )
        yield Env(db, fake, service, client, clock)
        fake.assert_no_unexpected()


async def test_a_voice_note_is_transcribed_and_recorded_like_any_model_call(env: Env) -> None:
    env.fake.hear(VOICE, Heard("Baja, por favor.", input_tokens=30))

    assert await env.transcribe(duration_s=4) == "Baja, por favor."

    [call] = await env.calls()
    assert (call.purpose, call.model, call.ok, call.tokens) == (
        "transcribe",
        "gpt-4o-mini-transcribe",
        True,
        33,
    )
    [request] = env.fake.transcriptions
    assert request.filename == "audio.ogg" and request.field("language") == "es"


async def test_nothing_is_sent_when_ai_is_off_or_transcription_is_off(env: Env) -> None:
    await AISettingsRepo(env.db).update(env.client.id, enabled=False)
    assert await env.transcribe() is None
    await AISettingsRepo(env.db).update(env.client.id, enabled=True)
    off = Transcriptions(env.db, None, model="gpt-4o-mini-transcribe", clock=env.clock)
    empty_model = Transcriptions(env.db, object(), model=" ", clock=env.clock)  # type: ignore[arg-type]
    for service in (off, empty_model):
        outcome = await service.attempt(
            client_id=env.client.id, message_id=1, data=VOICE, filename=None, mimetype=PTT_MIME
        )
        assert outcome.skipped is Skip.OFF

    assert env.fake.transcriptions == [] and await env.calls() == []


async def test_a_spent_budget_stops_the_call_before_it_is_made(env: Env) -> None:
    await AICallRepo(env.db).record(
        AICall(env.client.id, None, NOON, "reply", "gpt-test", True, 9_900)
    )

    outcome = await env.service.attempt(
        client_id=env.client.id,
        message_id=1,
        data=VOICE,
        filename=None,
        mimetype=PTT_MIME,
        duration_s=30,  # 300 audio tokens + the words: more than the 100 left
    )

    assert outcome.skipped is Skip.BUDGET_SPENT
    assert env.fake.transcriptions == [] and len(await env.calls()) == 1


async def test_a_failed_call_is_recorded_as_a_failure_and_gives_none(env: Env) -> None:
    env.fake.script_transcriptions(Status(500))

    assert await env.transcribe() is None

    [call] = await env.calls()
    assert (call.purpose, call.ok, call.error_kind) == ("transcribe", False, "unavailable")


async def test_silence_is_no_transcript_but_its_cost_counts(env: Env) -> None:
    env.fake.hear(VOICE, Heard("  ", input_tokens=12))

    outcome = await env.service.attempt(
        client_id=env.client.id, message_id=5, data=VOICE, filename=None, mimetype=PTT_MIME
    )

    assert outcome.text is None and outcome.skipped is Skip.EMPTY
    [call] = await env.calls()
    assert call.ok and call.tokens == 12


async def test_formats_the_api_does_not_take_are_never_sent(env: Env) -> None:
    outcome = await env.service.attempt(
        client_id=env.client.id, message_id=5, data=VOICE, filename=None, mimetype="audio/aac"
    )

    assert outcome.skipped is Skip.UNSUPPORTED
    assert env.fake.transcriptions == [] and await env.calls() == []
