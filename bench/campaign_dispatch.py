"""Campaign dispatch overhead: the engine's own cost per send, against raw inserts.

A campaign of N recipients (default 10,000) runs with pacing off against an instant fake
number, so what is measured is waops itself: picking the recipient, the checks at send time,
the `sending`/`sent` commits and the stored message. The baseline, measured in the same run on
the same database, is the rate of single-row INSERT transactions.

    .venv/bin/python bench/campaign_dispatch.py [--recipients 10000] [--mysql URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from pathlib import Path

from baseline import fresh_database, raw_insert_rate

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.events import EventBus
from engine.whatsapp.types import SentMessage
from storage.db import Database
from storage.records import CampaignStatus, ContactInput, SessionState
from storage.repos import ClientRepo, ContactRepo, SessionRepo


class InstantNumber:
    """A WhatsApp number that answers at once: no network, no browser."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def state(self, session_id: int) -> SessionState:
        return SessionState.CONNECTED

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        return SentMessage(f"true_{chat_id}_B{next(self._ids)}", 1, chat_id, 0.0)

    async def check_number(self, session_id: int, digits: str) -> str:
        return f"{digits}@c.us"


async def dispatch_rate(db: Database, recipients: int) -> float:
    client = await ClientRepo(db).add("bench", "Bench", "AR", "America/Argentina/Buenos_Aires")
    await SessionRepo(db).add(client.id, "main")
    contacts = ContactRepo(db)
    for start in range(0, recipients, 2000):
        batch = [
            ContactInput(f"549115{n:07d}", f"C{n}", ("bench",))
            for n in range(start, min(start + 2000, recipients))
        ]
        await contacts.upsert_many(client.id, batch)
    policy = PacingPolicy.unpaced()
    engine = CampaignEngine(db, EventBus(), InstantNumber(), policy, rng=random.Random(1))
    service = CampaignService(db, engine, policy, random.Random(1))
    await engine.start()
    draft = await service.create_draft(
        "bench", "main", "bench", "{Hola|Buenas} {name}, te escribimos de Bench"
    )
    campaign = draft.campaign
    begin = time.perf_counter()
    await service.launch(campaign.id)
    await engine.run_until_idle()
    elapsed = time.perf_counter() - begin
    await engine.stop()
    done = await service.get(campaign.id)
    assert done.status is CampaignStatus.COMPLETED, done
    return recipients / elapsed


async def measure(url: str, recipients: int) -> tuple[float, float]:
    async with Database(url) as db:
        await fresh_database(db)
        baseline = await raw_insert_rate(db, min(recipients, 5000))
        sends = await dispatch_rate(db, recipients)
    return baseline, sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--mysql", help="also run on this mysql+aiomysql:// URL (its tables are dropped)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")]
        if args.mysql:
            targets.append(("MariaDB/MySQL", args.mysql))
        print(f"campaign of {args.recipients} recipients, pacing off, instant fake number")
        header = ("database", "raw inserts/s", "sends/s", "ms/send", "inserts per send")
        print(f"{header[0]:<14} {header[1]:>14} {header[2]:>10} {header[3]:>8} {header[4]:>17}")
        for label, url in targets:
            baseline, sends = asyncio.run(measure(url, args.recipients))
            ms = 1000 / sends
            print(
                f"{label:<14} {baseline:>14.0f} {sends:>10.1f} {ms:>8.2f} {baseline / sends:>17.1f}"
            )


if __name__ == "__main__":
    main()
