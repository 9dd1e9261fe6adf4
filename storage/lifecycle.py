"""Two-phase lifecycle shared by long-lived parts (STYLE.md 4).

It lives in storage, the lowest layer, so that `Database` shares it; the engine and the bot
import it from engine/lifecycle.py.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class TwoPhase:
    """`initialize()/shutdown()` hold resources, `start()/stop()` run background work;
    `async with` does initialize+start on the way in and stop+shutdown on the way out."""

    async def initialize(self) -> None:
        """Acquire resources (connections, sessions); nothing runs yet."""

    async def start(self) -> None:
        """Start background work."""

    async def stop(self) -> None:
        """Stop background work, letting what is in flight finish."""

    async def shutdown(self) -> None:
        """Release the resources `initialize()` took."""

    async def __aenter__(self) -> Self:
        await self.initialize()
        try:
            await self.start()
        except BaseException:
            await self.shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.stop()
        finally:
            await self.shutdown()
