"""The WhatsApp side of sessions, faked at the port: records sends, fails on demand."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from engine.clock import VirtualClock
from engine.whatsapp.errors import SessionLost
from engine.whatsapp.types import NumberInfo, OutgoingMedia, SentMessage
from storage.records import SessionState


class _FilesAsText:
    """`send_media` for the fakes: sent as `send_text` with the caption (the same failures and
    records), and the file kept in `files`."""

    files: list[tuple[str, OutgoingMedia]]

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        raise NotImplementedError

    async def send_media(
        self,
        session_id: int,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage:
        sent = await self.send_text(session_id, chat_id, caption, typing_ms=typing_ms)
        self.files.append((chat_id, media))
        return sent


class RecordingSender(_FilesAsText):
    """The WhatsApp side of a session: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str, int]] = []
        self.files: list[tuple[str, OutgoingMedia]] = []
        self.broken = False
        self._ids = itertools.count(1)

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        if self.broken:
            raise SessionLost("page gone")
        self.sent.append((session_id, chat_id, text, typing_ms))
        return SentMessage(f"true_{chat_id}_OUT{next(self._ids)}", 1, chat_id, time.time())

    @property
    def texts(self) -> list[str]:
        return [text for _s, _c, text, _t in self.sent]


@dataclass
class FakeNumbers(_FilesAsText):
    """The WhatsApp side of the sessions: records sends at the virtual time."""

    clock: VirtualClock
    states: dict[int, SessionState] = field(default_factory=dict)
    sent: list[tuple[datetime, str, str]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    failures: deque[Exception] = field(default_factory=deque)
    checks: list[str] = field(default_factory=list)
    check_failures: deque[Exception] = field(default_factory=deque)
    lids: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, OutgoingMedia]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def state(self, session_id: int) -> SessionState | None:
        return self.states.get(session_id, SessionState.CONNECTED)

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        if self.failures:
            raise self.failures.popleft()
        self.sent.append((self.clock.now(), chat_id, text))
        return SentMessage(f"true_{chat_id}_C{next(self._ids)}", 1, chat_id, 0.0)

    async def check_number(self, session_id: int, digits: str) -> NumberInfo | None:
        self.checks.append(digits)
        if self.check_failures:
            raise self.check_failures.popleft()
        if digits in self.missing:
            return None
        return NumberInfo(f"{digits}@c.us", self.lids.get(digits))

    def gaps_s(self) -> list[float]:
        return [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(self.sent)]
