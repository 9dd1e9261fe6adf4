"""The production app of the inbound benches: the simulator in-process (or in a process of its
own), one session on real Chromium built by `bot.app.App` from settings that point at the
simulator, paired and connected through the control API."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

from bot.app import App
from engine.settings import Settings, load_settings
from engine.whatsapp.simulator import Simulator, SimulatorClient
from storage.records import SessionState


class SimulatorAt(NamedTuple):
    """Where a simulator serves: its control API and the two settings that point waops at it."""

    base_url: str
    whatsapp_url: str
    wa_js_path: str


@asynccontextmanager
async def simulator_process() -> AsyncIterator[SimulatorAt]:
    """`python -m engine.whatsapp.simulator` in a process of its own (as WhatsApp's servers
    are not in waops' process), on a free port, stopped afterwards."""
    with socket.socket() as probe:  # a free port, as the OS picks one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "engine.whatsapp.simulator",
        "--port",
        str(port),
        "--qr-rotate-s",
        "600",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        while len(printed) < 2:  # serve_forever prints the two settings once it listens
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            if not line:
                raise RuntimeError("the simulator process ended before it served")
            key, _, value = line.strip().partition("=")
            if key in ("WAOPS_WHATSAPP_URL", "WAOPS_WA_JS_PATH"):
                printed[key] = value
        yield SimulatorAt(
            f"http://127.0.0.1:{port}", printed["WAOPS_WHATSAPP_URL"], printed["WAOPS_WA_JS_PATH"]
        )
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def connected_app(
    stack: AsyncExitStack,
    *,
    url: str,
    data_dir: Path,
    chromium: Path,
    client: str,
    session: str,
    business_phone: str,
    own_process: bool = False,
    **app_args: Any,
) -> tuple[App, SimulatorClient, Settings]:
    """Start the simulator (in this process, or with `own_process` in one of its own) and the
    app on `stack` (both stop with it), add the client's session, pair it from
    `business_phone` and wait until it is connected."""
    simulator: Simulator | SimulatorAt
    if own_process:
        simulator = await stack.enter_async_context(simulator_process())
    else:
        simulator = await stack.enter_async_context(Simulator(qr_rotate_s=600.0))
    control = await stack.enter_async_context(SimulatorClient(simulator.base_url))
    settings = load_settings(
        _env_file=None,
        database_url=url,
        data_dir=data_dir,
        chromium_path=chromium,
        whatsapp_url=simulator.whatsapp_url,
        wa_js_path=simulator.wa_js_path,
        openai_api_key=None,
        openai_base_url=None,
        telegram_token=None,
        slack_bot_token=None,
        health_port=0,
    )
    app = await stack.enter_async_context(App(settings, **app_args))
    added = await app.sessions.add(client, session)
    await app.sessions.pair(client, session)
    await control.scan(f"{client}-{session}", business_phone)
    await app.sessions.wait_for_state(added.id, {SessionState.CONNECTED}, 60.0)
    return app, control, settings
