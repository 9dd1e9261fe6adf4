"""The live engine on the simulator: real Chromium, the SessionManager, the listener and the
real openai SDK on the fake server, with one connected number (haby/main). `make_live(...,
media=...)` also downloads inbound files into a media store and transcribes voice notes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.events import InboundReceived
from engine.ia.openai_client import OpenAIClient
from engine.ia.transcribe import Transcriptions
from engine.inbound.media import MediaIntake, MediaPolicy
from engine.inbound.spool import InboundSpool
from engine.listener import Listener, ListenerPolicy
from engine.media_store import MediaStore
from engine.retry import Backoff
from engine.sessions import SessionManager
from storage.repos import AISettingsRepo, ContactRepo, MessageRepo
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.listener import make_listener
from tests.support.sim_world import World

BUSINESS = "5491100000001"


@dataclass
class Live:
    world: World
    manager: SessionManager
    listener: Listener
    fake: FakeOpenAI
    client_id: int
    store: MediaStore | None = None

    async def send_file(self, sender: str, kind: str, data: bytes, **fields: Any) -> str:
        """A contact sends a file (the simulator's `inbound_media` fields); wait until the
        engine has handled it. Returns the WhatsApp message id."""
        before = len(self.world.rec.of(InboundReceived))
        sent = await self.world.sim.inbound_media("haby-main", sender, kind, data, **fields)
        await self.world.rec.wait(
            lambda: len(self.world.rec.of(InboundReceived)) > before, f"a {kind} to arrive"
        )
        await self.listener.run_until_idle()
        return str(sent["id"])

    async def write(self, sender: str, body: str | None, **fields: Any) -> None:
        """A contact writes (``fields``: the simulator's other inbound fields, such as
        ``lid`` or ``type``); wait until the engine has handled it."""
        before = len(self.world.rec.of(InboundReceived))
        await self.world.sim.inbound("haby-main", sender, body, **fields)
        await self.world.rec.wait(
            lambda: len(self.world.rec.of(InboundReceived)) > before, f"{body!r} to arrive"
        )
        await self.listener.run_until_idle()

    async def sent(self) -> list[tuple[str, str]]:
        return [(s["to"], s["body"]) for s in await self.world.sim.sent("haby-main")]

    async def stored(self, phone: str) -> list[tuple[str, str]]:
        contact = await ContactRepo(self.world.db).get(self.client_id, phone)
        return [
            (m.origin.value, m.body)
            for m in reversed(await MessageRepo(self.world.db).conversation(contact.id))
        ]


@pytest.fixture
async def live(world: World, tmp_path: Path) -> AsyncIterator[Live]:
    async with make_live(world, tmp_path) as built:
        yield built


@dataclass(frozen=True)
class LiveMedia:
    """Files on: inbound downloads of at most `max_bytes` (`attempts` each) into a store under
    the test's directory, voice notes transcribed with `transcribe_model`, and photos shown to
    the client's model when `vision` says it takes images."""

    max_bytes: int = 2_000_000
    attempts: int = 3
    transcribe_model: str = "gpt-4o-mini-transcribe"
    model: str = "gpt-4o-mini"
    vision: tuple[str, ...] = ("gpt-4o-mini",)


@contextlib.asynccontextmanager
async def make_live(
    world: World, tmp_path: Path, media: LiveMedia | None = None
) -> AsyncIterator[Live]:
    manager = world.manager()
    session = await manager.add("haby", "main")
    await manager.start()
    await world.connect(manager, "haby", "main", BUSINESS)
    await AISettingsRepo(world.db).update(
        session.client_id,
        enabled=True,
        system_prompt="Sos el asistente de Haby Hogar.",
        business_context="Abrimos de 9 a 18.",
        debounce_s=0.05,
        pause_s=600,
    )
    async with (
        FakeOpenAI(separate_classifications=True) as fake,
        OpenAIClient(api_key="k", base_url=fake.base_url, timeout_s=2.0, max_retries=0) as llm,
    ):
        store = intake = None
        if media is not None:
            store = MediaStore(tmp_path / "media")
            intake = MediaIntake(
                world.db,
                manager,
                store,
                policy=MediaPolicy(
                    max_bytes=media.max_bytes,
                    attempts=media.attempts,
                    attempt_timeout_s=15.0,
                    backoff=Backoff(0.05, 0.1),
                ),
                transcriptions=Transcriptions(
                    world.db, llm, model=media.transcribe_model, timeout_s=5.0
                ),
            )
        vision = media.vision if media is not None else ()
        listener = make_listener(
            world.db,
            world.bus,
            manager,
            llm=llm,
            default_model=media.model if media is not None else "gpt-test",
            spool=InboundSpool(tmp_path / "spool"),
            policy=ListenerPolicy(typing_scale=0.0),
            media=intake,
            images=store,
            accepts_images=lambda model: model in vision,
        )
        await listener.start()
        yield Live(world, manager, listener, fake, session.client_id, store)
        await listener.stop()
        fake.assert_no_unexpected()
