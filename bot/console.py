"""The terminal as an operator channel: commands typed on stdin, answers printed with rich.

The console operator is `console`. Confirm buttons become `/yes` and `/no` for the last
proposal; images are saved as PNG files and their path printed. Everything printed is plain
text, never Rich markup: replies and alerts carry what contacts wrote (`[/]` would raise).
"""

from __future__ import annotations

import asyncio
import logging
import selectors
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.commands.base import ConfirmPrompt
from bot.commands.dispatcher import Dispatcher
from bot.commands.parsing import parse_request
from bot.push.channel import Outgoing
from bot.texts import Language, t

logger = logging.getLogger(__name__)

ACTOR = "console"
LocalCommand = Callable[[str], Awaitable[bool]]
"""Handles a line locally (for example `/sim ...` in the demo); True when it did."""


class _Progress:
    def __init__(self, console: ConsoleChannel) -> None:
        self._console = console

    async def update(self, text: str) -> None:
        self._console.print_block(text, style="cyan")


class ConsoleChannel:
    """`Reply` and `AdminChannel` for the terminal."""

    prefix = "console"
    text_limit = 20_000
    min_interval_s = 0.0
    command_prefix = "/"

    def __init__(self, out: Console, files_dir: Path, language: Language = "en") -> None:
        self._out = out
        self._files_dir = files_dir
        self.language: Language = language
        self._files = 0
        self.last_prompt: ConfirmPrompt | None = None

    def print_block(self, text: str, *, style: str = "green", title: str | None = None) -> None:
        """`text` in a coloured frame, exactly as written (a str given to Panel is markup)."""
        self._out.print(
            Panel(
                Text(text),
                border_style=style,
                title=Text(title) if title is not None else None,
                title_align="left",
            ),
            highlight=False,
        )

    async def text(self, text: str) -> None:
        self.print_block(text)

    async def image(self, png: bytes, caption: str = "") -> None:
        self.print_block(self._with_saved(caption, "console.image_saved", "image.png", png))

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        self.print_block(self._with_saved(caption, "console.file_saved", name, data))

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        self.last_prompt = prompt
        self.print_block(
            f"{prompt.text}\n\n/yes = {prompt.confirm_label} · /no = {prompt.cancel_label}",
            style="yellow",
        )

    async def progress(self, text: str) -> _Progress:
        self.print_block(text, style="cyan")
        return _Progress(self)

    async def deliver(self, chat: str, message: Outgoing) -> None:
        """Alerts and digests pushed to the console operator."""
        lines = [message.text]
        if message.image is not None:
            lines.append(self._with_saved("", "console.image_saved", "alert.png", message.image))
        if message.file_name and message.file_data is not None:
            saved = self._with_saved("", "console.file_saved", message.file_name, message.file_data)
            lines.append(saved)
        lines += [f"→ {button.label}: {button.command}" for button in message.buttons]
        self.print_block("\n".join(lines), style="magenta", title="alert")

    def _with_saved(self, caption: str, key: str, name: str, data: bytes) -> str:
        """Save an attachment and say where, after its caption."""
        where = t(self.language, key, path=self._save(name, data))
        return f"{caption}\n({where})" if caption else where

    @property
    def saved(self) -> int:
        """How many images and files were saved so far."""
        return self._files

    def _save(self, name: str, data: bytes) -> Path:
        self._files += 1
        self._files_dir.mkdir(parents=True, exist_ok=True)
        path = self._files_dir / f"{self._files:03d}-{Path(name).name}"
        path.write_bytes(data)
        return path


class ConsoleAdapter:
    """Reads lines from stdin and dispatches them as the `console` operator."""

    def __init__(
        self, dispatcher: Dispatcher, channel: ConsoleChannel, *, local: LocalCommand | None = None
    ) -> None:
        self._dispatcher = dispatcher
        self._channel = channel
        self._local = local

    async def handle(self, line: str) -> bool:
        """Run one line; False when the operator asked to quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line in ("/yes", "/no"):
            await self._answer(confirm=line == "/yes")
            return True
        if self._local is not None and await self._local(line):
            return True
        request = parse_request(
            line if line.startswith("/") else f"/{line}",
            actor=ACTOR,
            platform="console",
            channel="console",
        )
        if request is not None:
            await self._dispatcher.dispatch(request, self._channel)
        return True

    async def _answer(self, *, confirm: bool) -> None:
        prompt, self._channel.last_prompt = self._channel.last_prompt, None
        if prompt is None:
            nothing = t(self._channel.language, "console.nothing_to_confirm")
            self._channel.print_block(nothing, style="yellow")
            return
        button = self._dispatcher.confirm if confirm else self._dispatcher.cancel
        await button(prompt.token, actor=ACTOR, platform="console", reply=self._channel)

    async def run(self, stop: asyncio.Event) -> None:
        """Read stdin until EOF, /quit or `stop`."""
        readline = await _stdin_lines()
        while not stop.is_set():
            # A race of two local futures, both cancelled here whatever wins (or if `run` is).
            read = asyncio.ensure_future(readline())
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                read.cancel()
                stopped.cancel()
            if not read.done():  # stopped first
                break
            raw = read.result()
            if not raw:
                return  # EOF: input was piped and is over
            try:
                keep_going = await self.handle(raw.decode(errors="replace"))
            except Exception:
                logger.exception("console command failed")
                keep_going = True
            if not keep_going:
                stop.set()


async def _stdin_lines() -> Callable[[], Awaitable[bytes]]:
    """A coroutine function giving stdin's next line (b"" at EOF).

    A terminal or a pipe is read by the event loop; what it cannot watch (stdin from /dev/null
    or from a regular file, which epoll refuses) is read in a thread, where each read returns at
    once."""
    loop = asyncio.get_running_loop()
    if not _pollable(sys.stdin.fileno()):
        return partial(loop.run_in_executor, None, sys.stdin.buffer.readline)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader.readline


def _pollable(fd: int) -> bool:
    """Whether the loop's selector can watch `fd` (asyncio only finds out in a callback)."""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
    except (OSError, ValueError):
        return False
    return True
