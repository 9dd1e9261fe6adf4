"""Group commit: what concurrent callers hand in while one batch is being written goes into the
next batch together, in one transaction.

A commit and each statement cost about as much as each other on our drivers (bench/README.md),
so a hundred chats writing at once cost a hundred commits when each writes alone. Here the first
caller to find nobody writing writes at once, alone (no waiting for company when the system is
quiet); whoever arrives meanwhile queues, and the next batch takes every item queued, in order.
No background task: the caller whose batch has just been written hands the turn to the oldest
caller still waiting, so nothing outlives its callers and a shutdown cancels no orphan.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")  # an item handed in
ResultT = TypeVar("ResultT")  # its outcome

# The batch's outcome per item, in the order given: its result, or the error that item alone
# raised (the others are written all the same).
Write = Callable[[list[ItemT]], Awaitable[Sequence["ResultT | Exception"]]]


class _Waiter(Generic[ItemT, ResultT]):
    __slots__ = ("error", "item", "result", "settled", "wake")

    def __init__(self, item: ItemT) -> None:
        self.item = item
        self.result: ResultT | None = None
        self.error: BaseException | None = None
        self.settled = False
        self.wake = asyncio.Event()

    def settle(self, outcome: ResultT | Exception) -> None:
        if isinstance(outcome, Exception):
            self.error = outcome
        else:
            self.result = outcome
        self.settled = True
        self.wake.set()


class GroupCommit(Generic[ItemT, ResultT]):
    """`submit(item)` returns the item's outcome once the batch it went into is written.

    `write` gets the batch's items, oldest first, and returns one outcome per item; an
    exception it raises is every item's outcome (a database outage: each caller retries)."""

    def __init__(self, write: Write[ItemT, ResultT], *, max_items: int = 100) -> None:
        self._write = write
        self._max_items = max_items
        self._queue: deque[_Waiter[ItemT, ResultT]] = deque()
        self._writing = False
        self.batches = 0  # how many were written, for tests and benches

    async def submit(self, item: ItemT) -> ResultT:
        waiter: _Waiter[ItemT, ResultT] = _Waiter(item)
        self._queue.append(waiter)
        try:
            while not waiter.settled:
                if not self._writing:
                    await self._write_next()
                    continue
                await waiter.wake.wait()
                waiter.wake.clear()
        except BaseException:
            # Cancelled while queued: leave the queue, and if the turn was ours, pass it on.
            if waiter in self._queue:
                self._queue.remove(waiter)
            self._hand_over()
            raise
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]

    async def _write_next(self) -> None:
        """Write the oldest items queued (this caller's turn)."""
        batch = [self._queue.popleft() for _ in range(min(self._max_items, len(self._queue)))]
        self._writing = True
        try:
            outcomes = await self._write([waiter.item for waiter in batch])
        except Exception as exc:
            for waiter in batch:
                waiter.settle(exc)
        except BaseException:
            # Cancelled mid-write (a shutdown): the others' items go back, unwritten or
            # written (a second write finds what the first committed), for the next turn.
            self._queue.extendleft(reversed(batch))
            raise
        else:
            if len(outcomes) != len(batch):
                error = RuntimeError(f"a batch of {len(batch)} gave {len(outcomes)} outcomes")
                outcomes = [error] * len(batch)
            for waiter, outcome in zip(batch, outcomes, strict=True):
                waiter.settle(outcome)
            self.batches += 1
        finally:
            self._writing = False
            self._hand_over()

    def _hand_over(self) -> None:
        """Whoever waits longest writes next."""
        if not self._writing and self._queue:
            self._queue[0].wake.set()
