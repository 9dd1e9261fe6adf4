"""Fault rows about the engine's own footing: the process killed, its browser killed, its
database stopped, its disk full. Each runs a campaign and contacts writing throughout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.faults_mariadb import PrivateMariaDB
from bench.faults_measure import (
    InboundFeed,
    RowResult,
    all_stored,
    duplicates,
    finish,
    opted_out,
    stored_counts,
)
from bench.faults_rig import KEY, Rig, chromium_pids, until


@dataclass
class RowEnv:
    """What every row gets: the private MariaDB, a scratch folder, the repetition counts."""

    mariadb: PrivateMariaDB
    root: Path
    quick: bool
    rng: random.Random

    @contextlib.asynccontextmanager
    async def rig(self, name: str, *, data_dir: Path | None = None) -> AsyncIterator[Rig]:
        url = await self.mariadb.fresh_database(f"faults_{name}")
        async with Rig(url, self.root / f"row-{name}", data_dir=data_dir) as rig:
            yield rig


async def progressed(rig: Rig, marker: str, above: int) -> bool:
    return await rig.sends_with(marker) > above


async def paired(rig: Rig, *, ai: bool = False) -> None:
    """A client without prospects seeded, waops started and its session paired."""
    await rig.seed(ai=ai)
    await rig.waops.start()
    await rig.pair()


async def running_campaign(
    rig: Rig, marker: str, prospects: int, label: str, *, every_s: float = 0.5
) -> InboundFeed:
    """`prospects` seeded, a running campaign whose texts carry `marker`, waops started and
    paired, and contacts writing (the feed `label`) throughout."""
    client_id = await rig.seed(prospects=prospects)
    await rig.campaign(client_id, marker)
    await rig.waops.start()
    await rig.pair()
    feed = InboundFeed(rig, label, every_s=every_s)
    feed.start()
    return feed


async def campaign_sends(rig: Rig, feed: InboundFeed, marker: str) -> int:
    """The last sends let land and the contacts stopped; the campaign's sends so far."""
    await asyncio.sleep(2)
    await feed.stop()
    _dups, sends = await duplicates(rig, marker)
    return sends


async def finish_campaign(
    rig: Rig, result: RowResult, feed: InboundFeed, expected: tuple[str, ...], marker: str
) -> None:
    """`finish` for a campaign row, then where its recipients ended."""
    await finish(rig, result, feed, expected, marker=marker)
    result.notes.append(f"recipients after the stop: {await _recipient_states(rig)}")


async def sigkill_row(env: RowEnv) -> RowResult:
    """SIGKILL of `waops run` mid-campaign; every other kill lands while a send waits for
    WhatsApp's answer (the simulator's stall-sends), the others at a random moment."""
    kills = 3 if env.quick else 10
    result = RowResult(f"SIGKILL of the engine mid-campaign ×{kills}")
    marker = "oferta de kill"
    async with env.rig("sigkill") as rig:
        feed = await running_campaign(rig, marker, 40 + 15 * kills, "kill")
        in_flight = 0
        for cycle in range(kills):
            base = await rig.sends_with(marker)
            await until(partial(progressed, rig, marker, base), 60)
            if cycle % 2 == 0:
                await rig.sim.action(KEY, "stall-sends")
                before = await rig.sends_with(marker)
                if await until(partial(progressed, rig, marker, before), 30) is not None:
                    in_flight += 1
                await rig.waops.sigkill()
                rig.mark(f"SIGKILL {cycle + 1} (mid-send)")
                await rig.sim.action(KEY, "release-sends")
            else:
                await asyncio.sleep(env.rng.uniform(0.1, 2.0))
                await rig.waops.sigkill()
                rig.mark(f"SIGKILL {cycle + 1}")
            await rig.reap_orphans()
            base = await rig.sends_with(marker)
            restarted = time.monotonic()
            await rig.waops.start()
            rig.mark(f"restart {cycle + 1} up")
            back = await until(partial(progressed, rig, marker, base), 90)
            result.recovery_s.append(None if back is None else time.monotonic() - restarted)
            if back is None:
                result.notes.append(f"no send within 90 s of restart {cycle + 1}; stopped there")
                break
        sends = await campaign_sends(rig, feed, marker)
        result.did = f"{kills} kills ({in_flight} mid-send), {sends} sends, {len(feed.ids)} inbound"
        result.notes.append("recovery: from the restart to the next send (start-up included)")
        await finish_campaign(rig, result, feed, ("campaign_unknown",) if in_flight else (), marker)
    return result


async def chromium_row(env: RowEnv) -> RowResult:
    """The session's Chromium (the browser process) killed with SIGKILL mid-campaign."""
    kills = 3 if env.quick else 10
    result = RowResult(f"Chromium of the session killed ×{kills}")
    marker = "oferta de chromium"
    async with env.rig("chromium") as rig:
        feed = await running_campaign(rig, marker, 60 + 25 * kills, "chrome")
        profile = str(rig.data_dir / "sessions")
        killed = 0
        for _cycle in range(kills):
            base = await rig.sends_with(marker)
            await until(partial(progressed, rig, marker, base + 1), 60)
            await asyncio.sleep(env.rng.uniform(0.0, 0.6))
            pids = chromium_pids(profile, main_only=True)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed += bool(pids)
            rig.mark(f"browser kill {killed}")
            hit = time.monotonic()
            base = await rig.sends_with(marker)

            async def back(b: int = base) -> bool:
                return await rig.connected() and await progressed(rig, marker, b)

            done = await until(back, 120)
            result.recovery_s.append(None if done is None else time.monotonic() - hit)
            if done is None:
                state = await rig.state()
                result.notes.append(
                    f"after kill {killed} the session stayed {state.value} for 120 s; "
                    "the remaining kills were not made"
                )
                break
        sends = await campaign_sends(rig, feed, marker)
        result.did = f"{killed} browsers killed, {sends} sends, {len(feed.ids)} inbound"
        result.notes.append("recovery: from the kill to connected and the next send")
        await finish_campaign(rig, result, feed, (), marker)
    return result


async def mariadb_row(env: RowEnv, outage_s: float = 20.0) -> RowResult:
    """The private MariaDB stopped for `outage_s` during a campaign, contacts writing."""
    result = RowResult(f"MariaDB stopped for {outage_s:.0f} s mid-campaign, inbound arriving")
    marker = "oferta de mariadb"
    async with env.rig("mariadb") as rig:
        feed = await running_campaign(rig, marker, 600, "mdb", every_s=0.3)
        await until(partial(progressed, rig, marker, 5), 60)
        asked_stop = time.monotonic()
        rig.mark("MariaDB asked to stop")
        await env.mariadb.stop()
        rig.mark("MariaDB stopped")
        stopped = time.monotonic()
        during = len(feed.ids)
        sends_at_stop = await rig.sends_with(marker)
        await asyncio.sleep(max(0.0, outage_s - (time.monotonic() - stopped)))
        sends_in_outage = await rig.sends_with(marker) - sends_at_stop
        during = len(feed.ids) - during
        await env.mariadb.start()
        rig.mark("MariaDB back")
        back_at = time.monotonic()
        base = await rig.sends_with(marker)
        resumed = await until(partial(progressed, rig, marker, base), 120)
        outage_ids = list(feed.ids)

        async def caught_up() -> bool:
            counts = await stored_counts(rig, outage_ids)
            return all(n == 1 for n in counts.values())

        stored = await until(caught_up, 120, 0.5)
        recovered = resumed is not None and stored is not None
        result.recovery_s.append(time.monotonic() - back_at if recovered else None)
        sends = await campaign_sends(rig, feed, marker)
        result.did = (
            f"{sends} sends ({sends_in_outage} during the outage), {len(feed.ids)} inbound "
            f"({during} during the outage)"
        )
        result.notes.append(
            f"the clean shutdown took {stopped - asked_stop:.1f} s; {sends_at_stop} sends "
            f"before it ended"
        )
        result.notes.append(
            "recovery: from MariaDB answering again to the next send and every message stored"
            + (f" (sends resumed after {resumed:.1f} s)" if resumed is not None else "")
        )
        # The worker's supervisor promises operators hear of a stall (engine/campaigns.py).
        await finish_campaign(rig, result, feed, ("campaigns_stalled",), marker)
    return result


async def disk_row(env: RowEnv, full_s: float = 10.0) -> RowResult:
    """WAOPS_DATA_DIR on a 4 MiB tmpfs (the browser profiles bind-mounted from a normal
    folder), filled to the last byte while contacts write, one of them BAJA."""
    result = RowResult("Full disk for the spool")
    small = env.root / "disk" / "data"
    profiles = env.root / "disk" / "profiles"
    small.mkdir(parents=True, exist_ok=True)
    profiles.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(small))
        (small / "sessions").mkdir()
        _mount("--bind", str(profiles), str(small / "sessions"))
    except (OSError, subprocess.CalledProcessError) as exc:
        _umount(small)
        result.error = f"could not mount a small filesystem ({exc}); row skipped"
        return result
    try:
        await _disk_scenario(env, result, small, full_s)
    finally:
        _umount(small / "sessions")
        _umount(small)
    return result


async def _disk_scenario(env: RowEnv, result: RowResult, small: Path, full_s: float) -> None:
    async with env.rig("disk", data_dir=small) as rig:
        await paired(rig)
        feed = InboundFeed(rig, "disk")
        spool = small / "inbound.spool"
        for _ in range(3):  # the spool file then ends mid-page: the next writes may half-fit
            await feed.one()
        await until(partial(all_stored, rig, list(feed.ids)), 30)
        await _fill(small / "filler")
        full_at = time.monotonic()
        bajas: list[str] = []
        while time.monotonic() - full_at < full_s:
            if len(feed.ids) % 3 == 0:
                bajas.append(f"54911800001{len(bajas):02d}")
                await feed.one("BAJA", phone=bajas[-1])
            else:
                await feed.one()
            await asyncio.sleep(0.4)
        in_full = len(feed.ids) - 3
        size_full = spool.stat().st_size if spool.exists() else 0
        (small / "filler").unlink()
        freed = time.monotonic()
        probe = await feed.one("consulta después del disco lleno")

        async def spooled_and_stored() -> bool:
            if probe is None or not await all_stored(rig, [probe]):
                return False
            return spool.exists() and spool.stat().st_size != size_full

        back = await until(spooled_and_stored, 60)
        result.recovery_s.append(None if back is None else time.monotonic() - freed)
        await until(partial(_all_opted_out, rig, bajas), 20)
        ignored = [p for p in bajas if not await opted_out(rig, p)]
        result.did = (
            f"{in_full} inbound on a full disk ({len(bajas)} BAJA), 4 before and after; "
            "tmpfs + bind mount"
        )
        if ignored:
            result.notes.append(
                f"{len(ignored)} of {len(bajas)} BAJA written while the disk was full were "
                "stored but never acted on (counted as inbound lost)"
            )
        result.notes.append(
            "recovery: from freeing the disk to a message spooled (file grew) and stored"
        )
        await finish(rig, result, feed, ("spool_failed",))
        result.inbound_lost += len(ignored)
        torn = _torn_lines(spool)
        if torn:
            result.notes.append(f"{torn} torn lines left in the spool (a write cut short)")


def _torn_lines(spool: Path) -> int:
    """Lines of the spool that are not whole JSON records (a replay would skip them)."""
    if not spool.exists():
        return 0
    torn = 0
    for line in spool.read_bytes().splitlines():
        try:
            json.loads(line)
        except ValueError:
            torn += 1
    return torn


async def _all_opted_out(rig: Rig, phones: list[str]) -> bool:
    return all([await opted_out(rig, p) for p in phones])


async def _fill(path: Path) -> None:
    """Write until the filesystem says ENOSPC, to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)


async def _recipient_states(rig: Rig) -> dict[str, int]:
    rows = await rig.rows("SELECT state, COUNT(*) FROM campaign_recipients GROUP BY state")
    return {state: n for state, n in rows}


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _umount(path: Path) -> None:
    if os.path.ismount(path):
        done = subprocess.run(["umount", str(path)], capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
