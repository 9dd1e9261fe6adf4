"""What the campaign runner needs of the rest of the engine: a session to send through, and
the one place a campaign's status changes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.clock import Clock
from engine.whatsapp.types import NumberInfo, OutgoingMedia, SentMessage
from storage.records import Campaign, CampaignStatus, SessionState


class CampaignTransport(Protocol):
    """What a campaign needs of a session (the SessionManager in production)."""

    def state(self, session_id: int) -> SessionState | None: ...

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage: ...

    async def send_media(
        self,
        session_id: int,
        chat_id: str,
        media: OutgoingMedia,
        *,
        caption: str,
        typing_ms: int = 0,
        timeout_s: float = 120.0,
    ) -> SentMessage: ...

    async def check_number(self, session_id: int, digits: str) -> NumberInfo | None: ...


# The statuses a campaign can still move on from.
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)


class CampaignStatuses(Protocol):
    """The one place a campaign's status changes (the CampaignEngine): it tells the number's
    worker and publishes `CampaignStatusChanged`."""

    async def change(
        self,
        campaign_id: int,
        status: CampaignStatus,
        reason: str | None,
        *,
        expect: list[CampaignStatus] | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign: ...


class CampaignControl(CampaignStatuses, Protocol):
    """What operators' campaign service needs of the engine (the CampaignEngine)."""

    @property
    def clock(self) -> Clock: ...

    def poke(self, session_id: int) -> None: ...
