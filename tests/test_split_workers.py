"""Two `waops worker` processes and two `waops bot` processes on one MariaDB (issue 17): four
numbers on the simulator, paired beforehand, a campaign on two of them, the workers splitting
the numbers between them, one bot active on the fake Telegram and one standing by.

- `kill -9` of one worker hands its numbers to the other within a minute; the campaigns go on
  and no prospect is sent a message twice (one cut off mid-send is `unknown`); every message
  contacts wrote while its number had no owner is stored once; the owner is told once, on
  Telegram, through the active bot; the survivor releases all on SIGTERM.
- `kill -9` of the active bot: the standby, healthy while it waited, answers the owner
  within 30 s, and pairs a new number from chat on the surviving worker.
- A worker stopped (SIGSTOP) past its leases sends nothing once it is resumed: the other took
  its numbers over with a new epoch, and every campaign claim checks it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from asyncio.subprocess import Process
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from engine.directory import Directory
from engine.events import MessageStored
from engine.relay import EventCodec
from engine.whatsapp.simulator.client import SimulatorClient
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database
from storage.records import Campaign, CampaignStatus, ContactInput, RecipientState, SessionState
from storage.repos import CampaignRepo, ContactRepo, MessageRepo, SessionRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from storage.repos.event_log import EventLogRepo
from storage.repos.leader import LeaderRepo
from storage.repos.leases import LeaseRepo
from tests.support.fakes.telegram_server import TOKEN, FakeTelegram
from tests.support.mariadb import own_database
from tests.support.pairing import pair_numbers
from tests.support.poll import poll_until
from tests.support.waops_process import free_port, stop_waops

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

NUMBERS = ["n1", "n2", "n3", "n4"]
CAMPAIGN_NUMBERS = ["n1", "n3"]
PROSPECTS = [f"54911700000{i:02d}" for i in range(1, 25)]
PACING = {"gap_s": "0.4", "long_pause_every": 0, "warmup": [], "window": "always"}
LEASE_TTL_S = 6.0
WORKERS = ("a", "b")
BOTS = ("bot-1", "bot-2")
OWNER = 400  # the owner's Telegram user id
BOT_LEASE_TTL_S = 9.0


@dataclass
class Split:
    """The running deployment: its database, the simulator, the workers and their logs."""

    db: Database
    sim: SimulatorClient
    client_id: int
    sessions: dict[str, int]
    campaigns: list[Campaign]
    logs: Path
    tg: FakeTelegram
    workers: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    bots: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    health_ports: dict[str, int] = field(default_factory=dict)

    async def active_bot(self) -> str | None:
        lease = await LeaderRepo(self.db).current(datetime.now(UTC))
        return None if lease is None else lease.holder

    async def bot_health(self, bot: str) -> str:
        """What `/healthz` of one bot says it is (`standby`, `active`)."""
        url = f"http://127.0.0.1:{self.health_ports[bot]}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        return str(body["bot"])

    def told_owner(self, pattern: str) -> list[str]:
        return [text for text in self.tg.texts(OWNER) if re.search(pattern, text)]

    async def owners(self) -> dict[int, str]:
        now = datetime.now(UTC)
        return {
            lease.session_id: worker
            for worker in self.workers
            for lease in await LeaseRepo(self.db).held(worker, now)
        }

    async def connected(self, worker: str) -> set[int]:
        states = {s.id: s.state for s in await SessionRepo(self.db).list()}
        owned = await self.owners()
        return {s for s, w in owned.items() if w == worker and states[s] is SessionState.CONNECTED}

    async def sent_to(self, number: str) -> list[str]:
        return [entry["to"].partition("@")[0] for entry in await self.sim.sent(f"haby-{number}")]

    def context(self) -> str:
        return "\n".join(
            f"--- {w}\n" + (self.logs / f"{w}.log").read_text()[-2000:]
            for w in (*self.workers, *self.bots)
        )

    async def started(self) -> None:
        """Until the workers hold two numbers each, all connected, and the campaigns send."""

        async def split_evenly() -> bool:
            return Counter((await self.owners()).values()) == Counter({w: 2 for w in WORKERS})

        async def all_connected() -> bool:
            return sum([len(await self.connected(w)) for w in WORKERS]) == len(NUMBERS)

        async def sending() -> bool:
            return sum([len(await self.sent_to(n)) for n in CAMPAIGN_NUMBERS]) >= 4

        for check, what in (
            (split_evenly, "two numbers each"),
            (all_connected, "every number connected"),
            (sending, "the campaigns sending"),
        ):
            await poll_until(check, what, 90, every_s=0.3, context=self.context)

    async def runs_everything(self, worker: str) -> None:
        async def all_there() -> bool:
            return len(await self.connected(worker)) == len(NUMBERS)

        await poll_until(all_there, f"{worker} running all four", 60, context=self.context)

    async def finished(self) -> None:
        repo = CampaignRepo(self.db)

        async def ended() -> bool:
            for campaign in self.campaigns:
                counts = await repo.counts(campaign.id)
                if counts.get(RecipientState.QUEUED.value) or counts.get("sending"):
                    return False
            return True

        await poll_until(ended, "both campaigns to end", 120, every_s=0.5, context=self.context)

    async def assert_nobody_twice(self) -> None:
        repo = CampaignRepo(self.db)
        for campaign, number in zip(self.campaigns, CAMPAIGN_NUMBERS, strict=True):
            sent = await self.sent_to(number)
            twice = [phone for phone, times in Counter(sent).items() if times > 1]
            assert twice == [], f"sent twice on {number}: {twice}"
            assert set(sent) <= set(PROSPECTS)
            counts = await repo.counts(campaign.id)
            done = counts.get("sent", 0) + counts.get("unknown", 0)
            assert done == len(PROSPECTS) and counts.get("unknown", 0) <= 1, counts
            assert counts.get("sent", 0) <= len(sent), "nothing counted sent that never left"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with own_database("split") as url:
        yield url


@pytest.fixture
async def split(tmp_path: Path, database_url: str) -> AsyncIterator[Split]:
    data = tmp_path / "data"  # the volume every worker shares
    async with (
        AsyncExitStack() as stack,
        Database(database_url) as db,
        Simulator(qr_rotate_s=60) as simulator,
        SimulatorClient(simulator.base_url) as sim,
        FakeTelegram() as tg,
    ):
        directory = Directory(db)
        haby = await directory.add_client(
            "haby", "Haby Hogar", "AR", "America/Argentina/Buenos_Aires"
        )
        await directory.add_operator(f"tg:{OWNER}", "owner", language="en")
        await AlertSubscriptionRepo(db).set_reachable(f"tg:{OWNER}")
        tg.opened_by(OWNER)
        sessions = await pair_numbers(db, simulator, sim, data, "haby", NUMBERS)
        await ContactRepo(db).upsert_many(
            haby.id, [ContactInput(p, f"C{p[-2:]}", ("feria",)) for p in PROSPECTS]
        )
        repo, campaigns = CampaignRepo(db), []
        for number in CAMPAIGN_NUMBERS:
            campaign = await repo.create(
                haby.id, sessions[number], number, "Hola {name}", {"tag": "feria"}, pacing=PACING
            )
            await repo.materialize(campaign)
            campaigns.append(await repo.set_status(campaign.id, CampaignStatus.RUNNING))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WAOPS_")},
            "WAOPS_DATABASE_URL": database_url,
            "WAOPS_DATA_DIR": str(data),
            "WAOPS_WHATSAPP_URL": simulator.whatsapp_url,
            "WAOPS_WA_JS_PATH": simulator.wa_js_path,
            "WAOPS_SEND_WINDOW": "always",
            "WAOPS_HEALTH_PORT": "0",
            "WAOPS_LEASE_TTL_S": str(LEASE_TTL_S),
        }
        bot_env = {
            **env,
            "WAOPS_TELEGRAM_TOKEN": TOKEN,
            "WAOPS_TELEGRAM_API_URL": tg.base_url,
            "WAOPS_TELEGRAM_FILE_URL": tg.base_file_url,
            "WAOPS_LANGUAGE": "en",
            "WAOPS_BOT_LEASE_TTL_S": str(BOT_LEASE_TTL_S),
        }
        deployment = Split(db, sim, haby.id, sessions, campaigns, tmp_path, tg)

        async def spawn(role: str, name: str, environment: dict[str, str]) -> Process:
            log = stack.enter_context((tmp_path / f"{name}.log").open("wb"))
            return await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("waops")),
                role,
                env={**environment, "WAOPS_WORKER_ID": name},
                cwd=tmp_path,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

        try:
            for worker in WORKERS:
                deployment.workers[worker] = await spawn("worker", worker, env)
            deployment.health_ports = {bot: free_port() for bot in BOTS}

            def bot_env_of(bot: str) -> dict[str, str]:
                return {**bot_env, "WAOPS_HEALTH_PORT": str(deployment.health_ports[bot])}

            deployment.bots[BOTS[0]] = await spawn("bot", BOTS[0], bot_env_of(BOTS[0]))
            await poll_until(
                deployment.active_bot, "the first bot to be active", 30, context=deployment.context
            )
            deployment.bots[BOTS[1]] = await spawn("bot", BOTS[1], bot_env_of(BOTS[1]))
            yield deployment
        finally:
            for process in (*deployment.workers.values(), *deployment.bots.values()):
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGCONT)
                    process.kill()
                    await process.wait()
        for name in (*WORKERS, *BOTS):
            log_text = (tmp_path / f"{name}.log").read_text()
            assert "Traceback" not in log_text, log_text[-3000:]


async def test_a_killed_worker_hands_its_numbers_over_without_a_duplicate(split: Split) -> None:
    await split.started()
    victim = (await split.owners())[split.sessions["n1"]]
    survivor = next(w for w in WORKERS if w != victim)
    os.killpg(split.workers[victim].pid, signal.SIGKILL)
    await split.workers[victim].wait()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()

    # Contacts write to every number while the victim's have no owner.
    for n, number in enumerate(NUMBERS):
        await split.sim.inbound(f"haby-{number}", f"54911800000{n:02d}", f"hola {number}")

    await split.runs_everything(survivor)
    assert loop.time() - killed_at < 60
    await split.finished()
    await split.assert_nobody_twice()
    messages, contacts = MessageRepo(split.db), ContactRepo(split.db)
    for n, number in enumerate(NUMBERS):
        contact = await contacts.get(split.client_id, f"54911800000{n:02d}")
        bodies = [m.body for m in await messages.conversation(contact.id)]
        assert bodies == [f"hola {number}"], f"{number}: stored {bodies}"
    # ... and the operator side hears of each once, through the event log (engine/relay.py).
    codec = EventCodec()
    logged = await EventLogRepo(split.db).after(0, datetime.now(UTC) + timedelta(minutes=1))
    stored = [codec.decode(e.kind, e.payload) for e in logged if e.kind == "MessageStored"]
    heard = sorted(e.message.body for e in stored if isinstance(e, MessageStored))
    assert heard == sorted(f"hola {number}" for number in NUMBERS), heard
    # The owner is told once, on Telegram, by the active bot alone.
    lost = f"{victim} → {survivor}"

    async def told() -> bool:
        return bool(split.told_owner(lost))

    await poll_until(told, "the owner told of the lost worker", 30, context=split.context)
    await asyncio.sleep(3)  # a second notice (another bot, another round) would be here by now
    assert len(split.told_owner("worker stopped without handing")) == 1, split.tg.texts(OWNER)

    # The active bot dies: the standby answers the owner within 30 s.
    active = await split.active_bot()
    assert active in BOTS
    standby = next(b for b in BOTS if b != active)
    # The standby is healthy while it waits, or Kubernetes would restart it forever.
    assert await split.bot_health(standby) == "standby"
    assert await split.bot_health(active) == "active"
    os.killpg(split.bots[active].pid, signal.SIGKILL)
    await split.bots[active].wait()
    bot_killed_at = loop.time()

    async def standby_active() -> bool:
        return await split.active_bot() == standby

    await poll_until(standby_active, "the standby to take over", 30, context=split.context)
    await split.tg.write(OWNER, "/sessions")

    async def answered() -> bool:
        return bool(split.told_owner(r"haby/n1 — connected — .* — worker " + survivor))

    await poll_until(answered, "the standby's /sessions answer", 30, context=split.context)
    assert loop.time() - bot_killed_at < 30
    assert await split.bot_health(standby) == "active"
    # A number added now is paired from chat, through the bot that took over, on the survivor.
    await Directory(split.db).add_session("haby", "n5")
    photos = len(split.tg.photo_messages(OWNER))
    await split.tg.write(OWNER, "/pair haby n5")

    async def qr_shown() -> bool:
        return len(split.tg.photo_messages(OWNER)) > photos

    await poll_until(qr_shown, "the QR of n5 on Telegram", 60, context=split.context)
    await split.sim.scan("haby-n5", "5491100000005")

    async def linked() -> bool:
        return bool(split.told_owner(r"haby/n5 is linked and connected"))

    await poll_until(linked, "n5 linked, told on Telegram", 60, context=split.context)
    assert len(await split.connected(survivor)) == len(NUMBERS) + 1
    assert len(split.told_owner("worker stopped without handing")) == 1, "not told again"
    assert await stop_waops(split.bots[standby]) == 0, split.context()

    assert await stop_waops(split.workers[survivor]) == 0, split.context()
    assert await LeaseRepo(split.db).held(survivor, datetime.now(UTC)) == [], "released"


async def test_a_stalled_worker_sends_nothing_once_resumed(split: Split) -> None:
    await split.started()
    stalled = (await split.owners())[split.sessions["n1"]]
    other = next(w for w in WORKERS if w != stalled)
    os.killpg(split.workers[stalled].pid, signal.SIGSTOP)  # waops, its driver, its browsers
    await split.runs_everything(other)
    before = {number: len(await split.sent_to(number)) for number in CAMPAIGN_NUMBERS}
    os.killpg(split.workers[stalled].pid, signal.SIGCONT)

    async def stood_down() -> bool:
        return await LeaseRepo(split.db).held(stalled, datetime.now(UTC)) == [] and (
            len(await split.connected(other)) == len(NUMBERS)
        )

    await poll_until(stood_down, "the resumed worker holding nothing", 30, context=split.context)
    await split.finished()
    await split.assert_nobody_twice()
    log = (split.logs / f"{stalled}.log").read_text()
    assert "its lease was lost" in log or "no renewal" in log, log[-3000:]
    after = {number: len(await split.sent_to(number)) for number in CAMPAIGN_NUMBERS}
    assert all(after[n] >= before[n] for n in CAMPAIGN_NUMBERS)
    await stop_waops(split.workers[other])
