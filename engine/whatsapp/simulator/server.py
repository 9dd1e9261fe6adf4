"""Run the simulator: in-process for tests (``Simulator``) or from the CLI (``main``)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from engine.lifecycle import TwoPhase
from engine.whatsapp.simulator import control, media, page, page_socket
from engine.whatsapp.simulator.bundle import fake_bundle_path
from engine.whatsapp.simulator.state import STATE, PageConfig, SimulatorState

logger = logging.getLogger(__name__)


def create_app(state: SimulatorState) -> web.Application:
    """The aiohttp application: simulated pages, their sockets and the control API."""
    # aiohttp takes 1 MiB bodies by default; inbound media and uploads are larger.
    app = web.Application(
        middlewares=[control.json_errors], client_max_size=media.MAX_REQUEST_BYTES
    )
    app[STATE] = state
    app.router.add_get("/s/{name}", page.page)
    app.router.add_get("/s/{name}/view", page.view)
    app.router.add_get("/s/{name}/socket", page_socket.page_socket)
    app.router.add_get("/static/wpp-fake.js", page.fake_bundle)
    app.router.add_get("/static/logo.png", page.logo)
    control.add_routes(app)
    media.add_routes(app)
    return app


class Simulator(TwoPhase):
    """The simulator on ``host:port`` (port 0 picks a free one); ``async with`` starts it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        qr_rotate_s: float = 20.0,
        qr_idle_after: int | None = None,
        link_code_ttl_s: float = 195.0,
        exists_hit_ttl_s: float = 300.0,
        exists_miss_ttl_s: float = 15.0,
        decrypt_delay_s: float = 0.05,
        upload_limits: dict[str, int] | None = None,
    ) -> None:
        """``qr_idle_after``: unscanned rotations before the QR goes idle (``None``: never).
        The other timings default to WA-JS 4.6.0's own (see ``PageConfig``); ``upload_limits``
        overrides getUploadLimit's bytes per media type."""
        self.host = host
        self.port = port
        page_config = PageConfig(
            link_code_ttl_s=link_code_ttl_s,
            exists_hit_ttl_s=exists_hit_ttl_s,
            exists_miss_ttl_s=exists_miss_ttl_s,
            decrypt_delay_s=decrypt_delay_s,
            **({} if upload_limits is None else {"upload_limits": upload_limits}),
        )
        self.state = SimulatorState(
            qr_rotate_s=qr_rotate_s, qr_idle_after=qr_idle_after, page=page_config
        )
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def whatsapp_url(self) -> str:
        """The value for ``WAOPS_WHATSAPP_URL``."""
        return f"{self.base_url}/s/{{session}}"

    @property
    def wa_js_path(self) -> str:
        """The value for ``WAOPS_WA_JS_PATH``: the fake bundle (its parts joined in one file)."""
        return str(fake_bundle_path())

    async def start(self) -> None:
        """Bind and serve; ``port`` holds the real port afterwards."""
        runner = web.AppRunner(create_app(self.state), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        logger.debug("WhatsApp simulator on %s", self.base_url)

    async def stop(self) -> None:
        """Close every page socket and stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # Open page sockets would hold the shutdown until aiohttp's 60 s grace: close them.
        for phone in self.state.phones.values():
            if phone.link is not None:
                await phone.link.close()
        await runner.cleanup()


async def serve_forever(
    port: int = 8765,
    *,
    qr_rotate_s: float = 20.0,
    qr_idle_after: int | None = None,
    link_code_ttl_s: float = 195.0,
) -> None:
    """Run until SIGINT/SIGTERM, first printing the two settings that point waops at it."""
    async with Simulator(
        port=port,
        qr_rotate_s=qr_rotate_s,
        qr_idle_after=qr_idle_after,
        link_code_ttl_s=link_code_ttl_s,
    ) as simulator:
        print(f"WAOPS_WHATSAPP_URL={simulator.whatsapp_url}", flush=True)
        print(f"WAOPS_WA_JS_PATH={simulator.wa_js_path}", flush=True)
        print(f"# control API: {simulator.base_url}/control/sessions", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main(
    port: int = 8765,
    *,
    qr_rotate_s: float = 20.0,
    qr_idle_after: int | None = None,
    link_code_ttl_s: float = 195.0,
) -> None:
    """Blocking entry point for ``waops simulator [--port 8765]``."""
    asyncio.run(
        serve_forever(
            port,
            qr_rotate_s=qr_rotate_s,
            qr_idle_after=qr_idle_after,
            link_code_ttl_s=link_code_ttl_s,
        )
    )
