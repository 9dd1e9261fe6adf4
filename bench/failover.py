"""Failover of a split deployment: how long a killed worker's numbers are without an owner, and
what is lost meanwhile.

Two `waops worker` processes on one MariaDB/MySQL share N numbers on the simulator (paired
first in this process). Contacts write all along, one message every `1/rate` s round robin over
the numbers. Then, `--kills` times: `kill -9` of the worker that runs the first number, the time
until the other runs every number (each connected, under its lease), the killed worker started
again and the time until the numbers are split evenly once more. The baseline, in the same run,
is the same hand-over by SIGTERM (the worker releases its leases on the way out). At the end
every message written must be stored exactly once.

    .venv/bin/python -m bench.failover --mysql mysql+aiomysql://root@127.0.0.1:3306/waops_failover
        [--kills 10] [--numbers 4] [--ttl 6] [--rate 4]     # the database's tables are dropped
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text

from bench.faults_rig import Waops, until
from bench.split_rig import numbers_running, paired_numbers, worker_env
from engine.whatsapp.simulator.client import SimulatorClient
from storage.db import Database
from storage.repos import SessionRepo
from storage.repos.leases import LeaseRepo

WORKERS = ("a", "b")


@dataclass
class Deployment:
    db: Database
    sim: SimulatorClient
    numbers: list[str]
    workers: dict[str, Waops]
    written: list[str] = field(default_factory=list)

    async def running(self) -> Counter[str]:
        return await numbers_running(self.db, self.workers)

    async def owner_of_first(self) -> str:
        session = await SessionRepo(self.db).get("bench", self.numbers[0])
        for worker in self.workers:
            held = await LeaseRepo(self.db).held(worker, datetime.now(UTC))
            if any(lease.session_id == session.id for lease in held):
                return worker
        raise RuntimeError("nobody owns the first number")

    async def hand_over(self, how: str) -> tuple[float, float]:
        """Take the first number's worker down (`kill` or `term`); seconds until the other
        runs everything, then (restarted) until the split is even again."""
        victim = await self.owner_of_first()
        other = next(w for w in WORKERS if w != victim)
        started = time.monotonic()
        if how == "kill":
            await self.workers[victim].sigkill()
        else:
            await self.workers[victim].stop()

        async def all_on_other() -> bool:
            return (await self.running())[other] == len(self.numbers)

        if await until(all_on_other, 120, 0.1) is None:
            raise RuntimeError(f"{other} did not take every number over")
        failover_s = time.monotonic() - started
        restarted = time.monotonic()
        await self.workers[victim].start()
        half = len(self.numbers) // 2

        async def even() -> bool:
            running = await self.running()
            return all(running[w] >= half for w in WORKERS)

        if await until(even, 120, 0.2) is None:
            raise RuntimeError("the workers did not even out again")
        return failover_s, time.monotonic() - restarted

    async def write(self, rate: float, stop: asyncio.Event) -> None:
        """Contacts write round robin over the numbers until `stop`."""
        for n in itertools.count():
            if stop.is_set():
                return
            number = self.numbers[n % len(self.numbers)]
            body = f"bench {n}"
            await self.sim.inbound(f"bench-{number}", f"5491180{n % 1000:06d}", body)
            self.written.append(body)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1 / rate):
                    await stop.wait()

    async def stored(self) -> Counter[str]:
        async with self.db.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT body, COUNT(*) FROM messages WHERE direction = 'in' GROUP BY body")
            )
            return Counter({body: count for body, count in rows.all()})


async def measure(url: str, kills: int, numbers: int, ttl: float, rate: float) -> None:
    async with paired_numbers(url, numbers, "waops-failover-") as world:
        root = world.root
        env = worker_env(world, WAOPS_LEASE_TTL_S=str(ttl))
        workers = {
            w: Waops({**env, "WAOPS_WORKER_ID": w}, root, root / f"{w}.log", command="worker")
            for w in WORKERS
        }
        deployment = Deployment(world.db, world.sim, list(world.sessions), workers)
        for worker in workers.values():
            await worker.start()
        stop = asyncio.Event()
        writer = asyncio.create_task(deployment.write(rate, stop))
        try:
            results: dict[str, list[tuple[float, float]]] = {"term": [], "kill": []}
            for how in ["term"] * min(3, kills) + ["kill"] * kills:
                results[how].append(await deployment.hand_over(how))
                print(f"{how:>4}: {results[how][-1][0]:6.1f} s without an owner", flush=True)
        finally:
            stop.set()
            await writer
            for worker in workers.values():
                await worker.stop()

        async def settled() -> bool:
            return len(await deployment.stored()) >= len(set(deployment.written))

        await until(settled, 60, 0.5)
        stored = await deployment.stored()
    written = set(deployment.written)
    lost = len(written - set(stored))
    twice = sum(1 for body in written if stored[body] > 1)
    crashes = [c for w in workers.values() for c in w.crashes]
    print(
        f"\n{numbers} numbers, lease {ttl:g} s, {rate:g} messages/s written throughout,"
        f" {len(written)} in all"
    )
    print(f"{'hand-over':<24} {'runs':>5} {'median s':>9} {'max s':>7} {'even again s':>13}")
    for how, label in (("term", "SIGTERM (baseline)"), ("kill", "kill -9")):
        runs = results[how]
        if runs:
            failover = [f for f, _even in runs]
            again = statistics.median([e for _f, e in runs])
            print(
                f"{label:<24} {len(runs):>5} {statistics.median(failover):>9.1f}"
                f" {max(failover):>7.1f} {again:>13.1f}"
            )
    print(f"messages lost: {lost}, stored twice: {twice}, unplanned exits: {len(crashes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql", required=True, help="a mysql+aiomysql:// URL (tables dropped)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--numbers", type=int, default=4)
    parser.add_argument("--ttl", type=float, default=6.0, help="WAOPS_LEASE_TTL_S")
    parser.add_argument("--rate", type=float, default=4.0, help="messages written per second")
    args = parser.parse_args()
    asyncio.run(measure(args.mysql, args.kills, args.numbers, args.ttl, args.rate))


if __name__ == "__main__":
    main()
