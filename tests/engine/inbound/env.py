"""The listener's test world: a real database, the real openai SDK on the fake server, a
recording sender, and a helper to publish built inbound messages."""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.events import (
    AIFailed,
    ChatPaused,
    ContactOptedOut,
    EventBus,
    HandoffRequested,
    HotLeadDetected,
    InboundReceived,
    SessionRef,
)
from engine.ia.openai_client import OpenAIClient
from engine.inbound.media import MediaIntake
from engine.inbound.spool import InboundSpool
from engine.listener import Listener, ListenerPolicy
from engine.retry import Backoff
from engine.whatsapp.types import InboundMessage
from storage.db import Database
from storage.repos import AISettingsRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo
from tests.support.fakes.numbers import RecordingSender
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.listener import make_listener

CONTACT = "5491155550000"
PROMPT = "Sos el asistente de Haby Hogar, una tienda de muebles en Palermo."
CONTEXT = "Horario: lunes a viernes de 9 a 18. Envíos gratis en CABA."


@dataclass
class Env:
    db: Database
    bus: EventBus
    sender: RecordingSender
    fake: FakeOpenAI
    listener: Listener
    haby: SessionRef
    marketing: SessionRef
    events: list[Any]
    spool_path: Path

    async def inbound(
        self,
        body: str,
        *,
        ref: SessionRef | None = None,
        sender: str = CONTACT,
        msg_id: str | None = None,
        from_me: bool = False,
        group: bool = False,
        chat: str | None = None,
        peer_phone: str | None = None,
        peer_lid: str | None = None,
        kind: str = "chat",
        **media: Any,
    ) -> str:
        """Publish a message as the driver hands it over (see engine/whatsapp/types.py)."""
        chat = chat or ("120363000000000001@g.us" if group else f"{sender}@c.us")
        msg_id = msg_id or f"{str(from_me).lower()}_{chat}_K{next(_ids)}"
        message = InboundMessage(
            msg_id,
            chat,
            chat if not group else f"{sender}@c.us",
            from_me,
            body,
            kind,
            int(time.time()),
            "Ana" if not from_me else None,
            group,
            None,
            peer_phone=peer_phone,
            peer_lid=peer_lid,
            key_id=msg_id.split("_")[2],
            **media,
        )
        await self.bus.publish(InboundReceived(ref or self.haby, message))
        return msg_id

    async def conversation(
        self, client_id: int | None = None, phone: str = CONTACT
    ) -> list[tuple[str, str, str]]:
        contact = await ContactRepo(self.db).get(client_id or self.haby.client_id, phone)
        messages = reversed(await MessageRepo(self.db).conversation(contact.id, 50))
        return [(m.direction.value, m.origin.value, m.body) for m in messages]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


_ids = itertools.count(1)


async def _ref(db: Database, slug: str, name: str) -> SessionRef:
    client = await ClientRepo(db).add(slug, name, "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    return SessionRef(session.id, client.id, slug, "main")


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[Env]:
    async with make_env(db, tmp_path) as built:
        yield built


@contextlib.asynccontextmanager
async def make_env(
    db: Database, tmp_path: Path, media: Callable[[Database], MediaIntake] | None = None
) -> AsyncIterator[Env]:
    """The world; `media` builds the listener's media intake (None: no files downloaded)."""
    haby = await _ref(db, "haby", "Haby Hogar")
    marketing = await _ref(db, "marketing", "Marketing Sur")
    await AISettingsRepo(db).update(
        haby.client_id,
        enabled=True,
        system_prompt=PROMPT,
        business_context=CONTEXT,
        debounce_s=0.05,
        fallback_text="En breve te responde alguien del equipo.",
        pause_s=600,
    )
    await AISettingsRepo(db).update(
        marketing.client_id, business_context="Cliente secreto: Acme SA paga 1M por mes."
    )
    bus = EventBus()
    events: list[Any] = []

    async def record(event: Any) -> None:
        events.append(event)

    for kind in (AIFailed, ChatPaused, ContactOptedOut, HandoffRequested, HotLeadDetected):
        bus.subscribe(kind, record)
    sender = RecordingSender()
    async with (
        FakeOpenAI(separate_classifications=True) as fake,
        OpenAIClient(
            api_key="k", base_url=fake.base_url, timeout_s=0.5, max_retries=1, retry_slack_s=0.2
        ) as llm,
    ):
        spool_path = tmp_path / "inbound.spool"
        listener = make_listener(
            db,
            bus,
            sender,
            llm=llm,
            default_model="gpt-test",
            spool=InboundSpool(spool_path),
            policy=ListenerPolicy(
                storage_backoff=Backoff(0.05, 0.2),
                typing_scale=0.0,
                reply_timeout_s=0.5,
                classify_timeout_s=0.5,
            ),
            media=None if media is None else media(db),
        )
        await listener.start()
        yield Env(db, bus, sender, fake, listener, haby, marketing, events, spool_path)
        await listener.stop()
        fake.assert_no_unexpected()
    gc.collect()  # surface a leaked connection in the test that leaked it
