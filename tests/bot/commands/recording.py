"""A `Reply` that records what a command answered, for tests only."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.commands.base import ConfirmPrompt


@dataclass
class RecordedProgress:
    updates: list[str]

    async def update(self, text: str) -> None:
        self.updates.append(text)


@dataclass
class RecordingReply:
    """Everything sent, in order; `broken` makes every send fail like an unreachable platform."""

    text_limit: int = 4096
    command_prefix: str = "/"
    broken: bool = False
    texts: list[str] = field(default_factory=list)
    images: list[tuple[bytes, str]] = field(default_factory=list)
    files: list[tuple[str, bytes, str]] = field(default_factory=list)
    prompts: list[ConfirmPrompt] = field(default_factory=list)
    progress_messages: list[RecordedProgress] = field(default_factory=list)

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("platform unreachable")

    async def text(self, text: str) -> None:
        self._check()
        assert len(text) <= self.text_limit, "a message over the platform limit"
        self.texts.append(text)

    async def image(self, png: bytes, caption: str = "") -> None:
        self._check()
        self.images.append((png, caption))

    async def file(self, name: str, data: bytes, caption: str = "") -> None:
        self._check()
        self.files.append((name, data, caption))

    async def confirm(self, prompt: ConfirmPrompt) -> None:
        self._check()
        self.prompts.append(prompt)

    async def progress(self, text: str) -> RecordedProgress:
        self._check()
        handle = RecordedProgress([text])
        self.progress_messages.append(handle)
        return handle

    @property
    def said(self) -> str:
        return "\n".join(self.texts)

    @property
    def sent_anything_but_text(self) -> bool:
        return bool(self.images or self.files or self.prompts or self.progress_messages)
