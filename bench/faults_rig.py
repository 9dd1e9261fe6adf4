"""The world one fault row runs in: `waops run` as a separate process on the simulator, the fake
Telegram, Slack and OpenAI servers (tests/fakes) and one database on the private MariaDB.

Everything the bench knows about the engine it learns from outside, as an operator would: what
the simulator saw sent, what the fakes received, and what is in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.directory import Directory
from engine.lifecycle import TwoPhase
from engine.whatsapp.simulator.client import SimulatorClient, SimulatorControlError
from engine.whatsapp.simulator.server import Simulator
from storage.db import Database, StorageUnavailable
from storage.records import CampaignStatus, ContactInput, SessionState
from storage.repos import AISettingsRepo, CampaignRepo, ContactRepo, SessionRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from tests.support.fakes.openai_server import FakeOpenAI
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.telegram_server import TOKEN, FakeTelegram
from tests.support.waops_process import free_port as _free_port

OWNER = 400  # Telegram user id of the owner
SLACK_OWNER = "U1"  # the fake Slack's member with a DM
CLIENT, SESSION, KEY = "bench", "main", "bench-main"
BUSINESS_PHONE = "5491100000001"
PACING = {"gap_s": "0.3", "long_pause_every": 0, "warmup": [], "window": "always"}
Check = Callable[[], Awaitable[bool]]
_UNAVAILABLE = (
    StorageUnavailable,
    SQLAlchemyError,
    OSError,
    TimeoutError,
    aiohttp.ClientError,
    SimulatorControlError,
)


async def until(check: Check, timeout_s: float, poll_s: float = 0.1) -> float | None:
    """Seconds until `check()` holds (errors count as "not yet"), or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if await check():
                return time.monotonic() - started
        except _UNAVAILABLE:  # the database or the engine may be the fault; keep watching
            pass
        await asyncio.sleep(poll_s)
    return None


class Waops:
    """`waops run` (or `command`: "worker") as a child process; an exit nobody asked for counts
    as a crash."""

    def __init__(
        self, env: dict[str, str], cwd: Path, log_path: Path, *, command: str = "run"
    ) -> None:
        self.env, self.cwd, self.log_path, self.command = env, cwd, log_path, command
        self.process: asyncio.subprocess.Process | None = None
        self.crashes: list[str] = []
        self.stop_codes: list[int] = []
        self._expected = False
        self._log_offset = 0
        self._watch: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 90.0) -> float:
        """Start and wait for "waops started"; returns the seconds it took."""
        started = time.monotonic()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._expected = False
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("waops")),
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        self._watch = asyncio.create_task(self._watch_exit(self.process))

        async def up() -> bool:
            return "waops started" in self.log_since_start()

        if await until(up, timeout_s, 0.2) is None:
            raise RuntimeError(f"waops did not start; see {self.log_path}")
        return time.monotonic() - started

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode("utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def sigkill(self) -> None:
        await self._end(signal.SIGKILL)

    async def stop(self) -> int | None:
        """SIGTERM, as systemd stops it; returns the exit code."""
        code = await self._end(signal.SIGTERM)
        if code is not None:
            self.stop_codes.append(code)
        return code

    async def _end(self, signum: int) -> int | None:
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        self._expected = True
        process.send_signal(signum)
        try:
            async with asyncio.timeout(90):
                code = await process.wait()
        except TimeoutError:
            process.kill()
            code = await process.wait()
        if self._watch is not None:
            await self._watch
        return code

    async def _watch_exit(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if not self._expected:
            self.crashes.append(f"exit {code} at {time.strftime('%H:%M:%S')}")


def chromium_pids(marker: str, *, main_only: bool = False) -> list[int]:
    """Chromium processes whose command line names `marker` (a path of this run)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        joined = b" ".join(argv).decode(errors="replace")
        if marker not in joined or "chrom" not in joined.lower():
            continue
        if main_only and "--type=" in joined:
            continue
        pids.append(int(entry.name))
    return pids


class Rig(TwoPhase):
    """One row's world. `async with Rig(url, root) as rig:` then seed, start, pair."""

    def __init__(self, database_url: str, root: Path, *, data_dir: Path | None = None) -> None:
        self.url = database_url
        self.root = root
        self.data_dir = data_dir or root / "data"
        self._stack = contextlib.AsyncExitStack()
        self.db: Database
        self.sim: SimulatorClient
        self.simulator: Simulator
        self.tg: FakeTelegram
        self.slack: FakeSlack
        self.model: FakeOpenAI
        self.waops: Waops
        self.orphans = 0
        self.timeline: list[tuple[float, str]] = []
        """(monotonic time, what the bench did): to place a lost message among the faults."""

    def mark(self, what: str) -> None:
        self.timeline.append((time.monotonic(), what))

    def when(self, moment: float) -> str:
        """`moment` told against what the bench did just before and just after it."""
        before = [(t, what) for t, what in self.timeline if t <= moment]
        after = [(t, what) for t, what in self.timeline if t > moment]
        told = [f"{moment - before[-1][0]:.2f} s after {before[-1][1]}"] if before else []
        told += [f"{after[0][0] - moment:.2f} s before {after[0][1]}"] if after else []
        return ", ".join(told) or "before any fault"

    async def initialize(self) -> None:
        """The simulator, the fakes and the database up, and waops' environment written."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        enter = self._stack.enter_async_context
        self.simulator = await enter(Simulator(qr_rotate_s=60))
        self.sim = await enter(SimulatorClient(self.simulator.base_url))
        self.tg = await enter(FakeTelegram())
        self.slack = await enter(FakeSlack())
        self.model = await enter(FakeOpenAI())
        self.db = await enter(Database(self.url))
        self.tg.opened_by(OWNER)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAOPS_")}
        env.update(
            WAOPS_DATABASE_URL=self.url,
            WAOPS_DATA_DIR=str(self.data_dir),
            WAOPS_WHATSAPP_URL=self.simulator.whatsapp_url,
            WAOPS_WA_JS_PATH=self.simulator.wa_js_path,
            WAOPS_OPENAI_API_KEY="bench-key",
            WAOPS_OPENAI_BASE_URL=self.model.base_url,
            WAOPS_TELEGRAM_TOKEN=TOKEN,
            WAOPS_TELEGRAM_API_URL=self.tg.base_url,
            WAOPS_TELEGRAM_FILE_URL=self.tg.base_file_url,
            WAOPS_SLACK_BOT_TOKEN="xoxb-test",
            WAOPS_SLACK_SIGNING_SECRET="signing-secret",
            WAOPS_SLACK_API_URL=self.slack.api_url,
            WAOPS_SLACK_HTTP_PORT=str(_free_port()),
            WAOPS_SEND_GAP_S="0.3",
            WAOPS_SEND_WINDOW="always",
            WAOPS_ALERT_GRACE_S="1",
            WAOPS_DIGEST_SCHEDULE="off",
            WAOPS_HEALTH_PORT=str(_free_port()),
            WAOPS_LANGUAGE="en",
        )
        self.waops = Waops(env, self.root, self.root / "waops.log")

    async def stop(self) -> None:
        """waops stopped if it runs, and the Chromium it left reaped."""
        if self.waops.running:
            await self.waops.stop()
        await self.reap_orphans()

    async def shutdown(self) -> None:
        """What `initialize()` opened, closed in reverse."""
        await self._stack.aclose()

    async def reap_orphans(self, wait_s: float = 20.0) -> int:
        """Chromium of this row still alive once waops is gone; waited for, then killed."""

        async def gone() -> bool:
            return not chromium_pids(str(self.data_dir))

        if await until(gone, wait_s, 0.2) is not None:
            return 0
        left = chromium_pids(str(self.data_dir))
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.orphans += len(left)
        await until(gone, 10.0, 0.2)
        return len(left)

    # -- set-up -----------------------------------------------------------------------------

    async def seed(self, *, prospects: int = 0, ai: bool = False) -> int:
        """Client, session, an owner on Telegram and one on Slack, prospects tagged `feria`;
        returns the client id."""
        directory = Directory(self.db)
        client = await directory.add_client(
            CLIENT, "Bench Hogar", "AR", "America/Argentina/Buenos_Aires"
        )
        await directory.add_session(CLIENT, SESSION)
        await directory.add_operator(f"tg:{OWNER}", "owner", language="en")
        await directory.add_operator(f"slack:{SLACK_OWNER}", "owner", language="en")
        await AlertSubscriptionRepo(self.db).set_reachable(f"tg:{OWNER}")
        contacts = [ContactInput(prospect_phone(i), f"P{i}", ("feria",)) for i in range(prospects)]
        if contacts:
            await ContactRepo(self.db).upsert_many(client.id, contacts)
        if ai:
            await AISettingsRepo(self.db).update(
                client.id,
                enabled=True,
                debounce_s=0.5,
                fallback_text="Gracias por escribir, enseguida te respondemos.",
            )
        return client.id

    async def campaign(self, client_id: int, marker: str) -> int:
        """A running campaign to every prospect; its texts carry `marker`."""
        repo = CampaignRepo(self.db)
        session = await SessionRepo(self.db).get(CLIENT, SESSION)
        campaign = await repo.create(
            client_id, session.id, marker, f"Hola {{name}}, {marker}", {"tag": "feria"},
            pacing=PACING,
        )  # fmt: skip
        await repo.materialize(campaign)
        await repo.set_status(campaign.id, CampaignStatus.RUNNING)
        return campaign.id

    async def state(self) -> SessionState:
        return (await SessionRepo(self.db).get(CLIENT, SESSION)).state

    async def connected(self) -> bool:
        return await self.state() is SessionState.CONNECTED

    async def pair(self, timeout_s: float = 60.0) -> None:
        async def qr() -> bool:
            return await self.state() is SessionState.QR_PENDING

        if await until(qr, timeout_s) is None:
            raise RuntimeError(f"no QR; see {self.waops.log_path}")
        await self.sim.scan(KEY, BUSINESS_PHONE)
        if await until(self.connected, timeout_s) is None:
            raise RuntimeError(f"not connected after the scan; see {self.waops.log_path}")

    async def sent(self) -> list[dict[str, Any]]:
        return await self.sim.sent(KEY)

    async def sends_with(self, marker: str) -> int:
        return sum(marker in s["body"] for s in await self.sent())

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.engine.connect() as connection:
            return list(await connection.execute(text(sql), params))


def prospect_phone(i: int) -> str:
    return f"549116{i:07d}"
