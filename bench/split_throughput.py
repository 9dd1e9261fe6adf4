"""Throughput of a split deployment: inbound messages stored and campaign messages sent per
second with one and with two `waops worker` processes on the same database.

N numbers on the simulator (paired first in this process, real Chromium) are run by one worker,
then by two (the second takes half of them). Each pass:

- inbound: M messages from M new contacts, round robin over the numbers, posted through the
  simulator's control API by 4 concurrent callers; the clock stops when all M are stored.
- sends: a campaign of P prospects on each number, pacing off, launched the way `waops bot`
  launches one (a `worker_commands` row through `RemoteEngine`, taken by the owning worker);
  the clock stops when every recipient is `sent`. Nobody may be sent twice.

The baseline, measured in the same run on the same database, is the rate of single-row INSERT
transactions. The workers and their browsers share this machine's cores with the simulator and
the database, so a second worker on one machine shows what the database lets through, not what
a second machine would add.

    .venv/bin/python -m bench.split_throughput --mysql mysql+aiomysql://root@127.0.0.1:3306/waops_split
        [--numbers 4] [--messages 400] [--prospects 50]        # the database's tables are dropped
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.baseline import post_concurrently, raw_insert_rate
from bench.faults_rig import Waops, until
from bench.split_rig import CLIENT, PairedNumbers, numbers_running, paired_numbers, worker_env
from engine.campaign.pacing import PacingPolicy
from engine.events import EventBus
from engine.remote import RemoteEngine
from storage.records import CampaignStatus, ContactInput, RecipientState
from storage.repos import CampaignRepo, ContactRepo

WORKERS = ("a", "b")
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Pass:
    workers: int
    stored_per_s: float
    sent_per_s: float


class Rig:
    def __init__(self, world: PairedNumbers) -> None:
        self.db, self.sim, self.sessions = world.db, world.sim, world.sessions
        self.client_id = world.client_id

    async def count(self, sql: str, **params: object) -> int:
        async with self.db.engine.connect() as connection:
            return int((await connection.execute(text(sql), params)).scalar_one())

    async def inbound(self, workers: int, messages: int) -> float:
        numbers, tag = list(self.sessions), f"{workers}w"
        items = [
            (numbers[i % len(numbers)], f"549118{workers}{i:06d}", f"{tag} {i}")
            for i in range(messages)
        ]

        async def post(item: tuple[str, str, str]) -> None:
            number, phone, body = item
            await self.sim.inbound(f"{CLIENT}-{number}", phone, body)

        started = time.perf_counter()
        await post_concurrently(items, 4, post)

        async def all_stored() -> bool:
            sql = "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND body LIKE :tag"
            return await self.count(sql, tag=f"{tag} %") >= messages

        if await until(all_stored, TIMEOUT_S, 0.05) is None:
            raise RuntimeError(f"{workers} worker(s): not every inbound message was stored")
        return messages / (time.perf_counter() - started)

    async def sends(self, workers: int, prospects: int) -> float:
        contacts, campaigns = ContactRepo(self.db), CampaignRepo(self.db)
        pacing = PacingPolicy.unpaced().to_dict()
        ids = []
        for n, (number, session_id) in enumerate(self.sessions.items()):
            label = f"{workers}w-{number}"
            phones = [f"549117{workers}{n}{i:05d}" for i in range(prospects)]
            await contacts.upsert_many(
                self.client_id, [ContactInput(p, f"P{p[-3:]}", (label,)) for p in phones]
            )
            campaign = await campaigns.create(
                self.client_id, session_id, label, "Hola {name}", {"tag": label}, pacing=pacing
            )
            await campaigns.materialize(campaign)
            ids.append(campaign.id)
        remote = RemoteEngine(self.db, EventBus())
        started = time.perf_counter()
        for campaign_id in ids:
            await remote.change(campaign_id, CampaignStatus.RUNNING, None)

        async def all_sent() -> bool:
            for campaign_id in ids:
                counts = await campaigns.counts(campaign_id)
                if counts.get(RecipientState.SENT.value, 0) < prospects:
                    return False
            return True

        if await until(all_sent, TIMEOUT_S, 0.05) is None:
            raise RuntimeError(f"{workers} worker(s): not every recipient was sent")
        rate = prospects * len(ids) / (time.perf_counter() - started)
        for number in self.sessions:
            sent = [e["to"] for e in await self.sim.sent(f"{CLIENT}-{number}")]
            twice = [to for to, times in Counter(sent).items() if times > 1]
            if twice:
                raise RuntimeError(f"{number}: sent twice to {twice}")
        return rate


async def one_pass(
    rig: Rig, env: dict[str, str], root: Path, count: int, messages: int, prospects: int
) -> Pass:
    """`count` workers run every number, split evenly; then inbound, then the campaigns."""
    names = list(WORKERS[:count])
    workers = [
        Waops({**env, "WAOPS_WORKER_ID": w}, root, root / f"{w}-{count}.log", command="worker")
        for w in names
    ]
    numbers = len(rig.sessions)

    async def spread() -> bool:
        counts = await numbers_running(rig.db, names)
        return sum(counts.values()) == numbers and min(counts[w] for w in names) >= numbers // count

    for worker in workers:
        await worker.start()
    try:
        if await until(spread, 180, 0.2) is None:
            raise RuntimeError(f"{count} worker(s) did not run the {numbers} numbers")
        stored = await rig.inbound(count, messages)
        sent = await rig.sends(count, prospects)
        print(f"{count} worker(s): {stored:.1f} stored/s, {sent:.1f} sent/s", flush=True)
    finally:
        for worker in workers:
            await worker.stop()
    crashes = [c for w in workers for c in w.crashes]
    if crashes:
        raise RuntimeError(f"unplanned exits: {crashes}")
    return Pass(count, stored, sent)


async def measure(url: str, numbers: int, messages: int, prospects: int) -> None:
    async with paired_numbers(url, numbers, "waops-split-") as world:
        raw = await raw_insert_rate(world.db, 1000)
        env = worker_env(world, WAOPS_SEND_WINDOW="always", WAOPS_LEASE_TTL_S="9")
        rig = Rig(world)
        passes = [
            await one_pass(rig, env, world.root, count, messages, prospects) for count in (1, 2)
        ]
        dialect = world.db.dialect
    print(
        f"\n{dialect}: raw single-row inserts {raw:,.0f}/s; {numbers} numbers,"
        f" {messages} inbound messages and {prospects} prospects per number per pass"
    )
    print(f"{'workers':>7} {'stored/s':>9} {'x raw':>6} {'sent/s':>7} {'x raw':>6}")
    for p in passes:
        print(
            f"{p.workers:>7} {p.stored_per_s:>9.1f} {p.stored_per_s / raw:>6.3f}"
            f" {p.sent_per_s:>7.1f} {p.sent_per_s / raw:>6.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql", required=True, help="a mysql+aiomysql:// URL (tables dropped)")
    parser.add_argument("--numbers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--prospects", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(measure(args.mysql, args.numbers, args.messages, args.prospects))


if __name__ == "__main__":
    main()
