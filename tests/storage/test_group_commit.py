"""Group commit: the first caller writes alone, the ones queued meanwhile go together next, each
gets its own outcome, and a caller cancelled while it waits or writes strands nobody."""

from __future__ import annotations

import asyncio

import pytest

from storage.group_commit import GroupCommit


class Writer:
    """Doubles each item; holds each batch until released, and can fail one item."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def write(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(items)
        await self.release.wait()
        return [ValueError(f"item {i}") if i < 0 else 2 * i for i in items]


async def _queued() -> None:
    """Let every task started so far run up to its next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_who_comes_while_a_batch_is_written_goes_in_the_next_one() -> None:
    writer = Writer()
    commit: GroupCommit[int, int] = GroupCommit(writer.write, max_items=3)
    first = asyncio.create_task(commit.submit(1))
    await _queued()
    rest = [asyncio.create_task(commit.submit(n)) for n in (2, -3, 4, 5)]
    await _queued()
    writer.release.set()
    assert await first == 2
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert outcomes[0] == 4 and isinstance(outcomes[1], ValueError) and outcomes[2:] == [8, 10]
    assert writer.batches == [[1], [2, -3, 4], [5]], "in order, at most three at a time"
    assert commit.batches == 3


async def test_a_waiter_cancelled_on_its_turn_hands_it_on() -> None:
    writer = Writer()
    commit: GroupCommit[int, int] = GroupCommit(writer.write, max_items=1)
    first = asyncio.create_task(commit.submit(1))
    await _queued()
    second = asyncio.create_task(commit.submit(2))
    third = asyncio.create_task(commit.submit(3))
    await _queued()
    second.cancel()
    writer.release.set()
    assert await first == 2 and await third == 6
    with pytest.raises(asyncio.CancelledError):
        await second
    assert writer.batches == [[1], [3]], "the cancelled one was never written"


async def test_a_writer_cancelled_mid_batch_leaves_the_others_to_the_next() -> None:
    writer = Writer()
    commit: GroupCommit[int, int] = GroupCommit(writer.write)
    first = asyncio.create_task(commit.submit(1))
    await _queued()
    second = asyncio.create_task(commit.submit(2))
    await _queued()
    assert writer.batches == [[1]]
    first.cancel()  # a shutdown while its batch is written
    await _queued()
    writer.release.set()
    assert await second == 4
    assert writer.batches == [[1], [2]]
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_batch_that_raises_is_every_items_error() -> None:
    async def down(items: list[int]) -> list[int | Exception]:
        raise ConnectionError("the database is gone")

    commit: GroupCommit[int, int] = GroupCommit(down)
    outcomes = await asyncio.gather(commit.submit(1), commit.submit(2), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
