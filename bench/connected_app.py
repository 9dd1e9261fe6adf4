"""The production app of the inbound benches: the simulator in-process, one session on real
Chromium built by `bot.app.App` from settings that point at the simulator, paired and
connected through the control API."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bot.app import App
from engine.settings import Settings, load_settings
from engine.whatsapp.simulator import Simulator, SimulatorClient
from storage.records import SessionState


async def connected_app(
    stack: AsyncExitStack,
    *,
    url: str,
    data_dir: Path,
    chromium: Path,
    client: str,
    session: str,
    business_phone: str,
    **app_args: Any,
) -> tuple[App, SimulatorClient, Settings]:
    """Start the simulator and the app on `stack` (both stop with it), add the client's
    session, pair it from `business_phone` and wait until it is connected."""
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
