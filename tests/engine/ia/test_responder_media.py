"""Photos, voice notes and documents in an AI turn, through the real openai SDK and the fake:
a vision model gets the newest photos as images with their captions, any other model the
markers only, and a photo that cannot be read never stops the reply."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from engine.ia.openai_client import OpenAIClient
from engine.ia.responder import Responder
from storage.records import AISettings, MediaInfo, MediaState, Message
from tests.engine.ia.conftest import TIMEOUT_S, MessageFactory, with_settings
from tests.support.fakes.openai_server import FakeOpenAI, Reply

VISION = {"gpt-4o-mini", "gpt-test"}


class Store:
    """A media store in memory; `read` raises for what it does not hold, like MediaMissing."""

    def __init__(self, *files: bytes) -> None:
        self.files = {hashlib.sha256(data).hexdigest(): data for data in files}
        self.reads: list[str] = []

    async def read(self, sha256: str) -> bytes:
        self.reads.append(sha256)
        try:
            return self.files[sha256]
        except KeyError:
            raise LookupError(f"no media {sha256}") from None


def photo(message: MessageFactory, data: bytes, caption: str = "", **media: object) -> Message:
    info = MediaInfo(
        "image",
        "image/jpeg",
        len(data),
        None,
        None,
        hashlib.sha256(data).hexdigest(),
        MediaState.STORED,
    )
    return replace(message(caption), type="image", media=replace(info, **media))  # type: ignore[arg-type]


def responder(llm: OpenAIClient, store: Store | None) -> Responder:
    return Responder(
        llm,
        default_model="gpt-default",
        timeout_s=TIMEOUT_S,
        media=store,
        accepts_images=VISION.__contains__,
    )


async def test_a_captioned_photo_reaches_a_vision_model_as_an_image_and_its_caption(
    fake_openai: FakeOpenAI, llm: OpenAIClient, settings: AISettings, message: MessageFactory
) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8_000  # 2 MB: over aiohttp's 1 MiB default
    store = Store(jpeg)
    sent = photo(message, jpeg, "¿Tienen este modelo en azul?")

    decision = await responder(llm, store).reply(
        settings,
        history=[sent],
        burst=["[imagen] ¿Tienen este modelo en azul?"],
        used_tokens_today=0,
    )

    assert decision.text is not None and decision.failed is None
    [request] = fake_openai.requests
    user = request["messages"][-1]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "text", "text": "[imagen] ¿Tienen este modelo en azul?"}
    [image] = fake_openai.images
    assert image.sha256 == hashlib.sha256(jpeg).hexdigest() and image.mimetype == "image/jpeg"
    assert all(m["role"] == "user" for m in request["messages"] if isinstance(m["content"], list))


async def test_a_model_without_vision_gets_the_marker_and_caption_only(
    fake_openai: FakeOpenAI, llm: OpenAIClient, message: MessageFactory
) -> None:
    jpeg = b"\xff\xd8jpeg"
    store = Store(jpeg)
    sent = photo(message, jpeg, "mirá")

    await responder(llm, store).reply(
        with_settings(model="gpt-3.5-turbo"),
        history=[sent],
        burst=["mirá"],
        used_tokens_today=0,
    )

    [request] = fake_openai.requests
    assert request["messages"][-1] == {"role": "user", "content": "mirá"}
    assert fake_openai.images == [] and store.reads == []


async def test_only_the_newest_photos_go_as_images(
    fake_openai: FakeOpenAI, llm: OpenAIClient, settings: AISettings, message: MessageFactory
) -> None:
    files = [bytes([n]) * 100 for n in range(4)]
    store = Store(*files)
    history = [photo(message, data, f"foto {n}") for n, data in enumerate(files)]

    await responder(llm, store).reply(
        settings, history=history, burst=["¿cuál me recomendás?"], used_tokens_today=0
    )

    newest = [hashlib.sha256(data).hexdigest() for data in files[-2:]]
    assert sorted(image.sha256 or "" for image in fake_openai.images) == sorted(newest)
    [request] = fake_openai.requests
    assert "[imagen] foto 0" in request["messages"][-1]["content"][0]["text"]


async def test_a_photo_that_cannot_be_read_falls_back_to_its_marker(
    fake_openai: FakeOpenAI, llm: OpenAIClient, settings: AISettings, message: MessageFactory
) -> None:
    missing = photo(message, b"gone", "esta")
    failed = photo(message, b"never downloaded", "y esta", state=MediaState.FAILED)
    store = Store()

    decision = await responder(llm, store).reply(
        settings, history=[missing, failed], burst=["?"], used_tokens_today=0
    )

    assert decision.text is not None and fake_openai.images == []
    assert store.reads == [missing.media.sha256]  # type: ignore[union-attr]
    [request] = fake_openai.requests
    assert request["messages"][-1]["content"] == "[imagen] esta\n[imagen] y esta\n?"


async def test_voice_notes_and_documents_reach_the_model_as_text(
    fake_openai: FakeOpenAI, llm: OpenAIClient, settings: AISettings, message: MessageFactory
) -> None:
    fake_openai.script(Reply("Recibido el presupuesto."))
    voice = replace(
        message(""),
        type="ptt",
        media=MediaInfo(
            "ptt", "audio/ogg", 9810, 4, None, "c" * 64, MediaState.STORED, "te paso el PDF"
        ),
    )
    pdf = replace(
        message(""),
        type="document",
        media=MediaInfo("document", "application/pdf", 183_000, None, "presupuesto.pdf", "d" * 64),
    )

    await responder(llm, Store()).reply(
        settings,
        history=[voice, pdf],
        burst=["[documento: presupuesto.pdf, 183 KB]"],
        used_tokens_today=0,
    )

    [request] = fake_openai.requests
    assert request["messages"][-1] == {
        "role": "user",
        "content": "[nota de voz] te paso el PDF\n[documento: presupuesto.pdf, 183 KB]",
    }
