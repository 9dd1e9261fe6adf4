"""`waops run` as a child process, for the tests that can only watch it from outside
(test_operator_day, test_platform_outage, the SIGKILL test): a free port, its environment,
starting it and stopping it the way systemd does."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from engine.whatsapp.simulator.server import Simulator
from tests.support.fakes.telegram_server import TOKEN, FakeTelegram

STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def waops_env(
    database_url: str,
    data_dir: Path,
    simulator: Simulator,
    tg: FakeTelegram,
    health_port: int,
    settings: Mapping[str, str],
) -> dict[str, str]:
    """Our environment without any WAOPS_ variable, then waops on the simulator and the fake
    Telegram, answering in English, and `settings` (WAOPS_ names) on top."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("WAOPS_")},
        "WAOPS_DATABASE_URL": database_url,
        "WAOPS_DATA_DIR": str(data_dir),
        "WAOPS_WHATSAPP_URL": simulator.whatsapp_url,
        "WAOPS_WA_JS_PATH": simulator.wa_js_path,
        "WAOPS_TELEGRAM_TOKEN": TOKEN,
        "WAOPS_TELEGRAM_API_URL": tg.base_url,
        "WAOPS_TELEGRAM_FILE_URL": tg.base_file_url,
        "WAOPS_SEND_WINDOW": "always",
        "WAOPS_ALERT_GRACE_S": "1",
        "WAOPS_HEALTH_PORT": str(health_port),
        "WAOPS_LANGUAGE": "en",
        **settings,
    }


async def spawn_waops(
    env: Mapping[str, str], cwd: Path, log: IO[bytes], *, new_session: bool = False
) -> asyncio.subprocess.Process:
    """`waops run` from this venv, its output in `log`; `new_session` to kill it with its group."""
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("waops")),
        "run",
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=log,
        start_new_session=new_session,
    )


@asynccontextmanager
async def waops_running(
    env: Mapping[str, str], cwd: Path, log_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`waops run` writing to `log_path`; killed on the way out if it is still running."""
    with log_path.open("wb") as log:
        process = await spawn_waops(env, cwd, log)
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def stop_waops(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, as systemd stops it; the exit code."""
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(STOP_TIMEOUT_S):
        return await process.wait()
