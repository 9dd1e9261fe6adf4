"""What every fake platform server shares: an aiohttp app on 127.0.0.1 at a free port, served
by `async with` (a `TwoPhase` part), and the record of the requests it did not expect.

A fake adds its routes in `_routes`; any other path is answered by `_not_found` and recorded in
`unexpected`, which `assert_no_unexpected()` checks (the fakes fail loudly).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import ClassVar, Self

from aiohttp import web

from engine.lifecycle import TwoPhase


class FakeServer(TwoPhase):
    """The HTTP plumbing of a fake: `async with` serves it, `close()` stops answering."""

    platform: ClassVar[str] = "server"
    """The name in the failure message of `assert_no_unexpected()`."""

    def __init__(self) -> None:
        self.unexpected: list[str] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`, once started."""
        return f"http://127.0.0.1:{self._port}"

    def assert_no_unexpected(self) -> None:
        """Fail the test if the fake saw a request it does not expect."""
        assert not self.unexpected, (
            f"unexpected requests to the fake {self.platform}: {self.unexpected}"
        )

    @contextlib.asynccontextmanager
    async def checked(self) -> AsyncIterator[Self]:
        """Serve it for a test, then fail the test if it saw a request it did not expect."""
        async with self:
            yield self
            self.assert_no_unexpected()

    async def initialize(self) -> None:
        """Serve on a free port (`async with` calls it)."""
        app = web.Application()
        self._routes(app.router)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner, self._port = runner, runner.addresses[0][1]

    async def shutdown(self) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop answering: later calls fail to connect (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _routes(self, router: web.UrlDispatcher) -> None:
        """Add the paths the fake answers."""
        raise NotImplementedError

    def _not_found(self, request: web.Request) -> web.Response:
        """The platform's answer to a path it does not have."""
        return web.Response(status=404)

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path}")
        return self._not_found(request)
