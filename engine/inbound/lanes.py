"""Ordered work per key, keys independent of each other.

The inbound pipeline keeps the order of one chat's messages, but one chat (or one client's
slow model) must never hold up another chat. A lane is a queue and, while it has work, one
task named after its key; an idle lane costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

from engine.tasks import TaskOwner

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Lanes:
    """Runs each key's jobs one after another, in submission order; different keys at once."""

    def __init__(self, owner: TaskOwner, name: str) -> None:
        self._owner = owner
        self._name = name
        self._queues: dict[Hashable, deque[Job]] = {}
        self._idle = asyncio.Condition()

    @property
    def busy(self) -> int:
        """Jobs queued or running."""
        return sum(len(queue) for queue in self._queues.values())

    def submit(self, key: Hashable, job: Job) -> None:
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        self._owner.spawn(f"{self._name}:{key}", self._drain(key))

    async def _drain(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                try:
                    await queue[0]()
                except Exception:
                    # A job handles its own expected errors; anything else is a bug to log,
                    # not a reason to stop the chat's later messages.
                    logger.exception("%s: a job of %s failed", self._name, key)
                finally:
                    queue.popleft()
        finally:
            # No await between the empty check and here, so nothing was added meanwhile; on
            # cancellation (shutdown) the rest of the lane is dropped with it.
            if self._queues.get(key) is queue:
                del self._queues[key]
            async with self._idle:
                self._idle.notify_all()

    async def wait_idle(self) -> None:
        async with self._idle:
            await self._idle.wait_for(lambda: not self._queues)
