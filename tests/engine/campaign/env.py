"""The campaign runner's test world: a real database, a virtual clock, and the numbers faked at
the WhatsApp port (tests/support/fakes/numbers.py)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.clock import VirtualClock
from engine.events import CampaignProgress, EventBus
from engine.media_store import MediaStore
from engine.retry import Backoff
from storage.db import Database
from storage.records import ContactInput
from storage.repos import ClientRepo, ContactRepo, SessionRepo
from tests.support.fakes.numbers import FakeNumbers

# 12:00 UTC = 09:00 in Buenos Aires.
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
UNPACED = PacingPolicy.unpaced()


@dataclass
class Env:
    db: Database
    bus: EventBus
    clock: VirtualClock
    numbers: FakeNumbers
    engine: CampaignEngine
    service: CampaignService
    client_id: int
    session_id: int
    progress: list[CampaignProgress]

    async def contacts(self, *phones: str, tag: str = "feria", **fields: str) -> None:
        await ContactRepo(self.db).upsert_many(
            self.client_id, [ContactInput(p, f"N{p[-2:]}", (tag,), dict(fields)) for p in phones]
        )

    async def campaign(
        self, template: str = "Hola {name}", selection: str = "feria", **pacing: object
    ) -> int:
        draft = await self.service.create_draft(
            "haby", "main", selection, template, pacing={k: v for k, v in pacing.items()} or None
        )
        return draft.campaign.id

    async def launched(
        self, template: str = "Hola {name}", selection: str = "feria", **pacing: object
    ) -> int:
        """A campaign created, launched and sent as far as it may go now."""
        campaign = await self.campaign(template, selection, **pacing)
        await self.service.launch(campaign)
        await self.engine.run_until_idle()
        return campaign


@pytest.fixture
async def campaign_env(db: Database) -> AsyncIterator[Env]:
    async with make_env(db, VirtualClock(START)) as env:
        yield env


@contextlib.asynccontextmanager
async def make_env(
    db: Database, clock: VirtualClock, media: MediaStore | None = None
) -> AsyncIterator[Env]:
    """The world on `clock`: a `VirtualClock` jumps over every wait, a `ManualClock` (for a
    schedule's timer) waits until the test moves it."""
    client = await ClientRepo(db).add("haby", "Haby", "AR", "America/Argentina/Buenos_Aires")
    session = await SessionRepo(db).add(client.id, "main")
    bus = EventBus()
    numbers = FakeNumbers(clock)
    engine = CampaignEngine(
        db,
        bus,
        numbers,
        UNPACED,
        clock=clock,
        rng=random.Random(7),
        backoff=Backoff(0.05, 0.2),
        media=media,
    )
    service = CampaignService(db, engine, UNPACED, random.Random(7), media=media)
    progress: list[CampaignProgress] = []

    async def record(event: CampaignProgress) -> None:
        progress.append(event)

    bus.subscribe(CampaignProgress, record)
    await engine.start()
    yield Env(db, bus, clock, numbers, engine, service, client.id, session.id, progress)
    await engine.stop()


def phones(n: int, start: int = 1) -> list[str]:
    return [f"54911500000{i:02d}" for i in range(start, start + n)]
