"""The world of the media command tests: real engine services over the real database and a
real media store, the WhatsApp side faked at its port (tests/support/fakes/numbers.py), and
the real Telegram and Slack adapters against their fakes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.commands.assembly import EngineCommands, EngineServices, build_registry
from bot.commands.dispatcher import Dispatcher
from bot.slack.adapter import SlackAdapter
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.limiter import TelegramRateLimiter
from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.clock import VirtualClock
from engine.directory import Directory
from engine.events import EventBus
from engine.inbound.conversations import AIControl, Conversations
from engine.media_store import MediaStore
from engine.sessions import SessionManager, playwright_factory
from engine.settings import load_settings
from storage.db import Database
from storage.records import (
    ContactInput,
    Direction,
    MediaInfo,
    MediaState,
    Message,
    MessageStatus,
    NewMessage,
    Origin,
)
from storage.repos import AuditRepo, ContactRepo, MessageRepo, SessionRepo
from tests.bot.slack.world import http_adapter
from tests.support.clocks import SteppingClock
from tests.support.fakes.numbers import FakeNumbers, RecordingSender
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import FakeTelegram

OPERATOR, OWNER, OTHER = 3, 1, 4  # Telegram: haby operator (en), owner (es), marketing only
GROUP = -1001
SLACK_OPERATOR = "UOPERATOR"
CONTACT = "5491155550000"
PHONE = f"+{CONTACT}"
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OGG = b"OggS\x00\x02" + bytes(range(256)) * 40  # stands for a voice note: bytes, never decoded
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200)) * 240  # 48,004 bytes
PDF = b"%PDF-1.4 factura " + b"x" * 183_000


@dataclass
class MediaWorld:
    db: Database
    store: MediaStore
    sender: RecordingSender
    engine: CampaignEngine
    dispatcher: Dispatcher
    client_id: int
    session_id: int
    contact_id: int

    async def file_message(
        self,
        kind: str,
        *,
        data: bytes | None,
        mimetype: str,
        caption: str = "",
        minutes: int = 0,
        state: MediaState = MediaState.STORED,
        duration_s: int | None = None,
        filename: str | None = None,
        transcript: str | None = None,
    ) -> Message:
        """A contact's file, stored as the inbound pipeline stores it (bytes in the store)."""
        sha = (await self.store.put(data, max_bytes=len(data))).sha256 if data else None
        info = MediaInfo(
            kind,
            mimetype,
            len(data) if data else 9_000_000,
            duration_s,
            filename,
            sha,
            state,
            transcript,
        )
        message = await MessageRepo(self.db).add(
            NewMessage(
                self.client_id,
                self.contact_id,
                Direction.IN,
                Origin.CONTACT,
                caption,
                START + timedelta(minutes=minutes),
                session_id=self.session_id,
                wa_message_id=f"false_{CONTACT}@c.us_M{minutes}",
                type=kind,
                status=MessageStatus.RECEIVED,
                media=info,
            )
        )
        assert message is not None
        return message

    async def prospects(self, *phones: str) -> None:
        await ContactRepo(self.db).upsert_many(
            self.client_id,
            [ContactInput(p, f"N{p[-1]}", ("feria",), {"ciudad": "Rosario"}) for p in phones],
        )


async def build_world(db: Database, tmp_path: Path) -> MediaWorld:
    directory = Directory(db)
    for slug in ("haby", "marketing"):
        await directory.add_client(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")
        await directory.add_session(slug, "main")
    await directory.add_operator(f"tg:{OPERATOR}", "operator", ["haby"], language="en")
    await directory.add_operator(f"tg:{OWNER}", "owner", language="es")
    await directory.add_operator(f"tg:{OTHER}", "operator", ["marketing"], language="en")
    await directory.add_operator(f"slack:{SLACK_OPERATOR}", "operator", ["haby"], language="en")
    bus, clock = EventBus(), VirtualClock(START)
    store = MediaStore(tmp_path / "media")
    sender = RecordingSender()
    engine = CampaignEngine(
        db, bus, FakeNumbers(clock), PacingPolicy.unpaced(), clock=clock, rng=random.Random(3)
    )
    await engine.start()
    settings = load_settings(data_dir=tmp_path, whatsapp_url="http://127.0.0.1:9/s/{session}")
    services = EngineServices(
        db=db,
        bus=bus,
        sessions=SessionManager(db, bus, playwright_factory(settings), tmp_path),
        campaigns=CampaignService(
            db, engine, PacingPolicy.unpaced(), random.Random(3), media=store
        ),
        conversations=Conversations(db, sender, bus, media=store),
        ai=AIControl(db),
    )
    registry = build_registry(directory, AuditRepo(db))
    registry.extend(EngineCommands(directory, services).commands())
    dispatcher = Dispatcher(registry, directory.operators, AuditRepo(db), default_language="en")
    haby = await directory.clients.get("haby")
    session = await SessionRepo(db).get("haby", "main")
    contact = await ContactRepo(db).ensure(haby.id, CONTACT, name="Ana")
    return MediaWorld(db, store, sender, engine, dispatcher, haby.id, session.id, contact.id)


def telegram_adapter(tg: FakeTelegram, dispatcher: Dispatcher) -> TelegramAdapter:
    """The Telegram adapter on the fake; the operators opened the bot, the bot is in GROUP."""
    for user in (OPERATOR, OWNER, OTHER):
        tg.opened_by(user)
    tg.add_group(GROUP)
    time = SteppingClock()
    return TelegramAdapter(
        tg.token,
        dispatcher,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        language="en",
        rate_limiter=TelegramRateLimiter(clock=time, sleep=time.sleep),
        poll_timeout_s=5.0,
        request_timeout_s=5.0,
    )


def slack_adapter(fake: FakeSlack, dispatcher: Dispatcher) -> SlackAdapter:
    pace = SteppingClock()
    return http_adapter(fake, dispatcher, clock=pace, sleep=pace.sleep)
