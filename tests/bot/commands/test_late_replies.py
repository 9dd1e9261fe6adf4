"""Sends made after a command returned (from engine events) are queued, never awaited inline,
so a slow or stuck chat platform cannot hold up the event bus."""

from __future__ import annotations

import asyncio

from bot.commands.base import ConfirmPrompt
from bot.commands.late_replies import LateReplies, QueuedReply
from engine.events import EventBus
from tests.bot.commands.recording import RecordedProgress


class StuckReply:
    """A platform that takes as long as `release` says for every send."""

    text_limit = 4096
    command_prefix = "/"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.texts: list[str] = []
        self.progress_handle = RecordedProgress([])

    async def text(self, text: str) -> None:
        await self.release.wait()
        self.texts.append(text)

    async def image(self, png: bytes, caption: str = "") -> None:
        await self.text(caption)

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        await self.text(caption)

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        await self.text(prompt.text)

    async def progress(self, text: str) -> RecordedProgress:
        await self.text(text)
        return self.progress_handle


async def test_a_stuck_platform_does_not_hold_up_the_event_bus() -> None:
    late = LateReplies()
    stuck = StuckReply()

    async def command() -> QueuedReply:  # the dispatcher wraps it in the command's task
        return late.wrap(stuck)

    reply = await asyncio.create_task(command())
    bus = EventBus()  # engine events are published from the engine's tasks (this one)

    async def on_event(event: str) -> None:  # a handler keeping the reply, like /pair's
        await reply.text(f"QR {event}")

    bus.subscribe(str, on_event)
    async with asyncio.timeout(1):  # would hang if the handler awaited the platform
        for n in range(3):
            await bus.publish(f"#{n}")
    assert stuck.texts == []
    stuck.release.set()
    await late.run_until_idle()
    assert stuck.texts == ["QR #0", "QR #1", "QR #2"], "in order"
    await late.stop()


async def test_the_command_itself_sends_inline_and_later_edits_coalesce() -> None:
    late = LateReplies()
    stuck = StuckReply()
    stuck.release.set()
    reply = late.wrap(stuck)
    await reply.text("answer")
    assert stuck.texts == ["answer"], "sent before the command returns"
    handle = await reply.progress("sent 0/10")
    stuck.release.clear()

    async def from_an_event() -> None:
        await reply.text("blocked until released")
        for n in range(1, 11):
            await handle.update(f"sent {n}/10")

    await asyncio.create_task(from_an_event())
    stuck.release.set()
    await late.run_until_idle()
    assert stuck.progress_handle.updates == ["sent 10/10"], "only the newest edit is sent"
    await late.stop()


async def test_a_backlog_is_bounded() -> None:
    late = LateReplies(max_pending=5)
    stuck = StuckReply()
    reply = late.wrap(stuck)

    async def flood() -> None:
        for n in range(20):
            await reply.text(f"#{n}")

    await asyncio.create_task(flood())
    stuck.release.set()
    await late.run_until_idle()
    assert late.dropped > 0 and len(stuck.texts) <= 6
    assert stuck.texts[-1] == "#19", "the newest survive"
    await late.stop()
