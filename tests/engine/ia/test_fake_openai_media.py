"""The fake OpenAI server refuses media requests the API refuses, and records what it took."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from tests.support.fakes import openai_audio
from tests.support.fakes.openai_server import FakeOpenAI

AUTH = {"Authorization": "Bearer k"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def _form(
    *, file: bytes | None = b"OggS", filename: str = "a.ogg", **fields: str
) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    if file is not None:
        form.add_field("file", file, filename=filename, content_type="audio/ogg")
    return form


async def _post(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.post(url, headers=AUTH, **kwargs) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("form", "status", "param"),
    [
        (_form(model="whisper-1", file=None), 400, "file"),
        (_form(), 400, "model"),
        (_form(model="whisper-1", filename="voice"), 400, "file"),
        (_form(model="whisper-1", filename="voice.aac"), 400, "file"),
        (_form(model="gpt-4o-mini-transcribe", response_format="srt"), 400, "response_format"),
        (_form(model="whisper-1", response_format="yaml"), 400, "response_format"),
    ],
)
async def test_bad_transcription_requests_get_the_api_error_shape(
    form: aiohttp.FormData, status: int, param: str
) -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        code, payload = await _post(http, f"{fake.base_url}/audio/transcriptions", data=form)

    assert code == status
    assert payload["error"]["param"] == param and payload["error"]["message"]
    assert fake.transcriptions == [] and len(fake.unexpected) == 1


async def test_a_json_body_is_not_a_transcription_and_no_token_is_refused() -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        code, _ = await _post(http, f"{fake.base_url}/audio/transcriptions", json={"model": "m"})
        async with http.post(
            f"{fake.base_url}/audio/transcriptions", data=_form(model="whisper-1")
        ) as response:
            assert response.status == 401

    assert code == 400 and len(fake.unexpected) == 2


async def test_over_the_size_cap_is_a_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_audio, "MAX_BYTES", 1_000)
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        code, payload = await _post(
            http,
            f"{fake.base_url}/audio/transcriptions",
            data=_form(model="whisper-1", file=b"x" * 2_000),
        )

    assert code == 413 and payload["error"]["type"] == "server_error"
    assert payload["error"]["message"].startswith("Maximum content size limit (1000) exceeded")
    fake.unexpected.clear()


async def test_a_good_transcription_is_recorded_and_answered() -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        fake.hear(b"OggS", "baja")
        code, payload = await _post(
            http,
            f"{fake.base_url}/audio/transcriptions",
            data=_form(model="gpt-4o-mini-transcribe", language="es"),
        )
        fake.assert_no_unexpected()

    assert code == 200
    assert payload["text"] == "baja" and payload["usage"]["type"] == "tokens"
    [request] = fake.transcriptions
    assert (request.filename, request.mimetype, request.data) == ("a.ogg", "audio/ogg", b"OggS")


def _chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": list(messages)}


IMAGE_PART = {"type": "image_url", "image_url": {"url": PNG_URL}}


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"role": "system", "content": [IMAGE_PART]}, "only allowed for messages with role 'user'"),
        (
            {"role": "assistant", "content": [{"type": "text", "text": "x"}, IMAGE_PART]},
            "role 'assistant' contains an image URL",
        ),
        ({"role": "user", "content": []}, "non-empty array"),
        ({"role": "user", "content": [{"type": "text"}]}, "text must be a string"),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,%%"}}
                ],
            },
            "not valid base64",
        ),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}
                ],
            },
            "unsupported image type",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": PNG_URL, "detail": "max"}}],
            },
            "detail must be one of",
        ),
        ({"role": "user", "content": [{"type": "video"}]}, "is not valid here"),
        ({"role": "user", "content": [{"type": "input_audio"}]}, "does not implement"),
    ],
)
async def test_content_parts_are_checked_per_role(message: dict[str, Any], problem: str) -> None:
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        code, payload = await _post(http, f"{fake.base_url}/chat/completions", json=_chat(message))

    assert code == 400 and problem in payload["error"]["message"]
    assert fake.requests == [] and fake.images == []
    [recorded] = fake.unexpected
    assert problem in recorded


async def test_image_parts_in_user_turns_are_decoded_and_recorded() -> None:
    user = {
        "role": "user",
        "content": [
            {"type": "text", "text": "¿qué es?"},
            IMAGE_PART,
            {**IMAGE_PART, "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
        ],
    }
    async with FakeOpenAI() as fake, aiohttp.ClientSession() as http:
        code, payload = await _post(
            http,
            f"{fake.base_url}/chat/completions",
            json=_chat({"role": "system", "content": [{"type": "text", "text": "sé breve"}]}, user),
        )
        fake.assert_no_unexpected()

    assert code == 200
    assert payload["choices"][0]["message"]["content"] == "Recibido: ¿qué es?"
    assert payload["usage"]["prompt_tokens"] == 2 + 2 + 2 * 85
    first, second = fake.images
    assert (first.request, first.message, first.mimetype, first.data) == (0, 1, "image/png", PNG)
    assert (second.data, second.url, second.detail) == (None, "https://x.test/a.png", "low")
