"""Operator channels come up in the background, so a chat platform never stops the engine.

With Telegram or Slack unreachable at boot, `waops run` starts the engine anyway: each channel
is tried once while the app starts, then again with backoff until it is up. Until then its
alerts wait in the outbox (the channel is registered with `AdminChannels` only once up), and
`/healthz` says which channel is not. A refused token needs a person: it is reported and no
longer retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from engine.retry import Backoff
from engine.tasks import TaskOwner

logger = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff(initial_s=1.0, max_s=30.0, jitter=0.2)


class Lifecycle(Protocol):
    """The adapter side: `initialize()` (check the token, reach the platform), `start()`."""

    async def initialize(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def shutdown(self) -> None: ...


class ChannelState(StrEnum):
    STARTING = "starting"
    UP = "up"
    RETRYING = "retrying"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ChannelStatus:
    """What `/healthz` shows for one channel."""

    state: ChannelState
    attempts: int
    error: str | None
    since_s: float

    def as_json(self) -> dict[str, object]:
        status: dict[str, object] = {"state": self.state.value, "attempts": self.attempts}
        if self.error:
            status["error"] = self.error
        status["for_s"] = round(time.monotonic() - self.since_s, 1)
        return status


class ChannelSupervisor:
    """Initializes and starts one adapter, retrying transient failures with backoff.

    `fatal` are the exceptions that need a person (a refused token): reported, not retried.
    `on_up` runs once the adapter is up (register it as an admin channel).
    """

    def __init__(
        self,
        name: str,
        adapter: Lifecycle,
        *,
        on_up: Callable[[], None],
        fatal: tuple[type[BaseException], ...] = (),
        backoff: Backoff = DEFAULT_BACKOFF,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.adapter = adapter
        self._on_up = on_up
        self._fatal = fatal
        self._backoff = backoff
        self._rng = rng or random.Random()
        self._tasks = TaskOwner(f"channel:{name}")
        self._first_attempt = asyncio.Event()
        self._up = asyncio.Event()
        self._initialized = False
        self._status = ChannelStatus(ChannelState.STARTING, 0, None, time.monotonic())

    @property
    def status(self) -> ChannelStatus:
        return self._status

    @property
    def is_up(self) -> bool:
        return self._status.state is ChannelState.UP

    async def start(self, first_attempt_s: float = 30.0) -> None:
        """Start trying; return after the first attempt (or `first_attempt_s`), up or not."""
        self._tasks.spawn(f"channel:{self.name}", self._run())
        try:
            async with asyncio.timeout(first_attempt_s):
                await self._first_attempt.wait()
        except TimeoutError:
            logger.warning(
                "%s: still connecting after %.0f s; going on", self.name, first_attempt_s
            )

    async def wait_up(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._up.wait()

    async def stop(self) -> None:
        """Stop retrying, then stop and release the adapter (whatever it got to)."""
        await self._tasks.shutdown(grace_s=0.0)
        try:
            if self.is_up:
                await self.adapter.stop()
        finally:
            await self.adapter.shutdown()
            self._set(ChannelState.STOPPED, None)

    async def _run(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._attempt()
            except self._fatal as exc:
                self._set(ChannelState.FAILED, f"{type(exc).__name__}: {exc}", attempt)
                logger.error("%s: %s; fix the configuration and restart waops", self.name, exc)
                self._first_attempt.set()
                return
            except Exception as exc:  # whatever the platform library raised: try again later
                delay_s = self._backoff.delay_s(attempt - 1, self._rng)
                self._set(ChannelState.RETRYING, f"{type(exc).__name__}: {exc}"[:300], attempt)
                logger.warning(
                    "%s unreachable (%s); waops runs on, retrying in %.0f s",
                    self.name,
                    exc,
                    delay_s,
                )
                self._first_attempt.set()
                await asyncio.sleep(delay_s)
                continue
            self._set(ChannelState.UP, None, attempt)
            logger.info("%s is up", self.name)
            self._on_up()
            self._up.set()
            self._first_attempt.set()
            return

    async def _attempt(self) -> None:
        if not self._initialized:
            await self.adapter.initialize()
            self._initialized = True
        try:
            await self.adapter.start()
        except BaseException:
            await self.adapter.stop()  # what got started (polling, a socket) before the failure
            raise

    def _set(self, state: ChannelState, error: str | None, attempts: int | None = None) -> None:
        since = self._status.since_s if state is self._status.state else time.monotonic()
        count = self._status.attempts if attempts is None else attempts
        self._status = ChannelStatus(state, count, error, since)
