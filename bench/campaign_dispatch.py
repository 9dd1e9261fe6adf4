"""Campaign dispatch overhead: the engine's own cost per send, against raw inserts.

A campaign of N recipients (default 10,000) runs with pacing off against an instant fake
number, so what is measured is waops itself: picking the recipient, the checks at send time,
the `sending`/`sent` commits and the stored message. It runs twice on the same contacts: first
to new prospects (each send first asks WhatsApp for the number and keeps its id on the
contact), then a second campaign to the same people, whose ids are known. The baseline,
measured on the same database just before each campaign, is the rate of single-row INSERT
transactions. SQLAlchemy's engine events count the statements and transactions per send; on
SQLite the bench also counts the calls into aiosqlite's thread (what a statement costs there).

    .venv/bin/python bench/campaign_dispatch.py [--recipients 10000] [--mysql URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite.core
from baseline import fresh_database, raw_insert_rate
from sqlalchemy import event
from sqlalchemy.engine import Connection

from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.events import EventBus
from engine.whatsapp.types import NumberInfo, SentMessage
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

    async def check_number(self, session_id: int, digits: str) -> NumberInfo:
        return NumberInfo(f"{digits}@c.us")


class Statements:
    """Counts what the engine asks of the database: statements sent and transactions begun."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements = 0
        self.transactions = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on_statement)
        event.listen(db.engine.sync_engine, "begin", self._on_begin)

    def _on_statement(self, _connection: Connection, *_args: Any) -> None:
        self.statements += 1

    def _on_begin(self, _connection: Connection) -> None:
        self.transactions += 1

    def remove(self) -> None:
        event.remove(self.db.engine.sync_engine, "before_cursor_execute", self._on_statement)
        event.remove(self.db.engine.sync_engine, "begin", self._on_begin)


class ThreadCalls:
    """Counts the calls aiosqlite hands to its connection's thread (cursor, execute, fetch,
    close, commit, rollback: each a hop from the event loop and back). It wraps
    `aiosqlite.core.Connection._execute`, a private method (aiosqlite 0.22: every call goes
    through it), so this is a bench's measurement, not something the engine relies on."""

    def __init__(self) -> None:
        self.calls = 0
        self._original: Any = aiosqlite.core.Connection._execute
        counter = self

        async def counted(connection: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            counter.calls += 1
            return await counter._original(connection, fn, *args, **kwargs)

        setattr(aiosqlite.core.Connection, "_execute", counted)  # noqa: B010

    def remove(self) -> None:
        setattr(aiosqlite.core.Connection, "_execute", self._original)  # noqa: B010


@dataclass(frozen=True)
class Result:
    label: str
    baseline: float  # raw single-row INSERT transactions per second, just before
    sends: float  # campaign sends per second
    statements: float  # per send, from the launch to the campaign's end
    transactions: float  # per send, likewise
    thread_calls: float | None  # per send, likewise (SQLite only)
    raw_thread_calls: float | None  # per raw insert of the baseline (SQLite only)


class Bench:
    """One client and number with N prospects, and the engine that sends to them."""

    def __init__(self, db: Database, recipients: int) -> None:
        self.db = db
        self.recipients = recipients
        policy = PacingPolicy.unpaced()
        self.engine = CampaignEngine(db, EventBus(), InstantNumber(), policy, rng=random.Random(1))
        self.service = CampaignService(db, self.engine, policy, random.Random(1))

    async def setup(self) -> None:
        client = await ClientRepo(self.db).add(
            "bench", "Bench", "AR", "America/Argentina/Buenos_Aires"
        )
        await SessionRepo(self.db).add(client.id, "main")
        contacts = ContactRepo(self.db)
        for start in range(0, self.recipients, 2000):
            batch = [
                ContactInput(f"549115{n:07d}", f"C{n}", ("bench",))
                for n in range(start, min(start + 2000, self.recipients))
            ]
            await contacts.upsert_many(client.id, batch)
        await self.engine.start()

    async def campaign(self, label: str) -> Result:
        """Launch a campaign to every prospect and time it until the last send."""
        sqlite = self.db.dialect == "sqlite"
        raw_calls = ThreadCalls() if sqlite else None
        rows = min(self.recipients, 5000)
        baseline = await raw_insert_rate(self.db, rows)
        if raw_calls is not None:
            raw_calls.remove()
        draft = await self.service.create_draft(
            "bench", "main", "bench", "{Hola|Buenas} {name}, te escribimos de Bench"
        )
        campaign = draft.campaign
        counted = Statements(self.db)
        calls = ThreadCalls() if sqlite else None
        begin = time.perf_counter()
        await self.service.launch(campaign.id)
        await self.engine.run_until_idle()
        elapsed = time.perf_counter() - begin
        counted.remove()
        if calls is not None:
            calls.remove()
        done = await self.service.get(campaign.id)
        assert done.status is CampaignStatus.COMPLETED, done
        n = self.recipients
        return Result(
            label,
            baseline,
            n / elapsed,
            counted.statements / n,
            counted.transactions / n,
            None if calls is None else calls.calls / n,
            # The baseline's table is created and dropped around the timed inserts: 2 calls
            # (cursor, execute, close, commit, rollback) each side at most, well under 0.01.
            None if raw_calls is None else raw_calls.calls / rows,
        )


async def measure(url: str, recipients: int) -> list[Result]:
    async with Database(url) as db:
        await fresh_database(db)
        bench = Bench(db, recipients)
        await bench.setup()
        try:
            return [
                await bench.campaign("new contacts"),
                await bench.campaign("known contacts"),
            ]
        finally:
            await bench.engine.stop()


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
        columns = ("database", "contacts", "raw inserts/s", "sends/s", "ms/send", "x raw")
        print(
            f"{columns[0]:<14} {columns[1]:<15} {columns[2]:>13} {columns[3]:>8} {columns[4]:>8}"
            f" {columns[5]:>6} {'stmt/send':>10} {'tx/send':>8} {'calls/send':>10}"
            f" {'calls/raw':>9}"
        )
        for label, url in targets:
            for r in asyncio.run(measure(url, args.recipients)):
                print(
                    f"{label:<14} {r.label:<15} {r.baseline:>13.0f} {r.sends:>8.1f}"
                    f" {1000 / r.sends:>8.2f} {r.sends / r.baseline:>6.2f}"
                    f" {r.statements:>10.2f} {r.transactions:>8.2f}"
                    f" {_calls(r.thread_calls):>10} {_calls(r.raw_thread_calls):>9}"
                )


def _calls(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
