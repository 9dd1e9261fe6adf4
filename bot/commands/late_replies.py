"""Replies sent after their command returned go through a queue, never inline.

A command's `Reply` outlives the command: /pair keeps it for the next QR codes and the outcome,
/campaign status for progress edits. Those later sends come from engine event handlers, and the
event bus awaits each handler, so a chat platform that is slow, down or rate limiting would hold
up the engine itself (session states, campaign sends). Here a send made from any task other
than the command's own is queued per reply and delivered by a task of ours; progress edits
and live-image pictures replace a pending one of the same message (only the newest counts),
and a queue that grows
past `max_pending` drops its oldest sends, since they are stale by then.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands.base import (
    MAX_PLAIN_FILE_BYTES,
    ConfirmPrompt,
    MediaFile,
    MediaReplies,
    ProgressHandle,
    Reply,
    send_media,
)
from bot.push.channel import LiveImage, live_image_for
from engine.tasks import TaskOwner

logger = logging.getLogger(__name__)

Send = Callable[[], Awaitable[None]]


@dataclass
class _Item:
    send: Send
    key: object | None


class _Lane:
    """The pending sends of one reply, in order, and whether a task is delivering them."""

    def __init__(self) -> None:
        self.items: deque[_Item] = deque()
        self.busy = False


class LateReplies:
    """Owns the queues and their delivery tasks; `wrap()` the `Reply` a command gets."""

    def __init__(self, *, max_pending: int = 50, stop_grace_s: float = 5.0) -> None:
        self._max_pending = max_pending
        self._stop_grace_s = stop_grace_s
        self._tasks = TaskOwner("late-replies")
        self._stopping = False
        self._busy: set[asyncio.Task[None]] = set()
        self.dropped = 0

    def wrap(self, reply: Reply) -> QueuedReply:
        """`reply` for a command running in the current task."""
        return QueuedReply(reply, self, asyncio.current_task())

    def enqueue(self, lane: _Lane, send: Send, key: object | None = None) -> None:
        if self._stopping:
            logger.info("late reply dropped: shutting down")
            return
        if key is not None:
            for item in lane.items:
                if item.key == key:
                    item.send = send  # a newer edit of the same message replaces the pending one
                    return
        lane.items.append(_Item(send, key))
        while len(lane.items) > self._max_pending:
            lane.items.popleft()
            self.dropped += 1
            logger.warning("late reply dropped: more than %d waiting", self._max_pending)
        if not lane.busy:
            lane.busy = True
            task = self._tasks.spawn("late-replies:lane", self._drain(lane))
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)

    async def _drain(self, lane: _Lane) -> None:
        try:
            while lane.items:
                item = lane.items.popleft()
                try:
                    await item.send()
                except Exception as exc:  # the command is over: nobody else would see it
                    logger.warning(
                        "a late reply could not be sent: %s: %s", type(exc).__name__, exc
                    )
        finally:
            lane.busy = False

    async def run_until_idle(self) -> None:
        """Until every queued send went out (tests)."""
        while self._busy:
            await asyncio.wait(set(self._busy))

    async def stop(self) -> None:
        """Let what is queued go out for a little while, then cancel it."""
        self._stopping = True
        await self._tasks.shutdown(self._stop_grace_s)


class QueuedReply:
    """A `Reply` that sends inline from the command's own task and queues from any other."""

    def __init__(self, reply: Reply, queue: LateReplies, owner: asyncio.Task[object] | None):
        self.inner = reply
        self._queue = queue
        self._owner = owner
        self._lane = _Lane()

    @property
    def text_limit(self) -> int:
        return self.inner.text_limit

    @property
    def command_prefix(self) -> str:
        return self.inner.command_prefix

    def _inline(self) -> bool:
        return asyncio.current_task() is self._owner

    async def _run(self, send: Send, key: object | None = None) -> None:
        if self._inline():
            await send()
        else:
            self._queue.enqueue(self._lane, send, key)

    async def text(self, text: str) -> None:
        await self._run(lambda: self.inner.text(text))

    async def image(self, png: bytes, caption: str = "") -> None:
        await self._run(lambda: self.inner.image(png, caption))

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        await self._run(lambda: self.inner.file(name, data, caption))

    @property
    def max_file_bytes(self) -> int:
        """The inner reply's limit (`MediaReplies`); a plain file has the dispatcher's."""
        inner = self.inner
        return inner.max_file_bytes if isinstance(inner, MediaReplies) else MAX_PLAIN_FILE_BYTES

    async def media(self, file: MediaFile, caption: str = "") -> None:
        await self._run(lambda: send_media(self.inner, file, caption))

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        await self._run(lambda: self.inner.confirm(prompt))

    def live_image(self) -> LiveImage:
        """The inner reply's live image (or one that sends each picture anew), queued."""
        return _QueuedLiveImage(self, live_image_for(self.inner))

    async def progress(self, text: str) -> ProgressHandle:
        handle = _QueuedProgress(self)
        if self._inline():
            handle.inner = await self.inner.progress(text)
        else:
            self._queue.enqueue(self._lane, lambda: handle.create(text))
        return handle


class _QueuedLiveImage:
    """A live image whose later pictures are queued and coalesced: only the newest counts."""

    def __init__(self, reply: QueuedReply, inner: LiveImage) -> None:
        self._reply = reply
        self._inner = inner

    async def show(self, png: bytes, caption: str = "") -> None:
        await self._reply._run(lambda: self._inner.show(png, caption), key=self)


class _QueuedProgress:
    """A progress message whose later edits are queued behind it and coalesced."""

    def __init__(self, reply: QueuedReply) -> None:
        self._reply = reply
        self.inner: ProgressHandle | None = None

    async def create(self, text: str) -> None:
        self.inner = await self._reply.inner.progress(text)

    async def _edit(self, text: str) -> None:
        if self.inner is not None:
            await self.inner.update(text)

    async def update(self, text: str) -> None:
        await self._reply._run(lambda: self._edit(text), key=self)
