"""A worker's engine as the bot's remote commands reach it (engine/remote.py `WorkerEngine`,
`CampaignMoves`): records what it was asked, answers like the SessionManager would, and can
fail or hang on demand."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import InvalidInput
from engine.whatsapp.types import OutgoingMedia, SentMessage
from storage.db import Database
from storage.records import Campaign, CampaignStatus, SessionState
from storage.repos import CampaignRepo


@dataclass
class FakeWorkerEngine:
    """The worker's SessionManager as the commands see it: records what it was asked."""

    calls: list[tuple[object, ...]] = field(default_factory=list)
    fail_with: BaseException | None = None
    hang: asyncio.Event | None = None  # set: answers; unset: the send hangs until then

    async def _act(self, *call: object) -> None:
        self.calls.append(call)
        if self.hang is not None:
            await self.hang.wait()
        if self.fail_with is not None:
            raise self.fail_with

    async def pair(self, client_slug: str, name: str = "main", phone: str | None = None) -> str:
        await self._act("pair", client_slug, name, phone)
        return "2@qr-text"

    async def take_over(self, client_slug: str, name: str = "main") -> SessionState:
        await self._act("take_over", client_slug, name)
        return SessionState.CONNECTED

    async def restart(self, client_slug: str, name: str = "main") -> None:
        await self._act("restart", client_slug, name)

    async def logout(self, client_slug: str, name: str = "main") -> None:
        await self._act("logout", client_slug, name)

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage:
        await self._act("send_text", session_id, chat_id, text)
        return SentMessage(
            f"true_{chat_id}_K{len(self.calls)}", 1, chat_id, 1.0, f"K{len(self.calls)}"
        )

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
        await self._act("send_media", session_id, chat_id, media.data, media.kind, caption)
        return SentMessage(f"true_{chat_id}_M", 1, chat_id, 1.0, "M")


@dataclass
class FakeCampaigns:
    db: Database
    pokes: list[int] = field(default_factory=list)

    async def change(
        self,
        campaign_id: int,
        status: CampaignStatus,
        reason: str | None,
        *,
        expect: list[CampaignStatus] | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign:
        if expect is not None and CampaignStatus.RUNNING not in expect:
            raise InvalidInput("transition.refused", id=campaign_id, status="draft", expected="x")
        return await CampaignRepo(self.db).set_status(campaign_id, status, reason)

    def poke(self, session_id: int) -> None:
        self.pokes.append(session_id)
