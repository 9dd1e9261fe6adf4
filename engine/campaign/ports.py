"""What the campaign runner needs of the rest of the engine: a session to send through, and
the one place a campaign's status changes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.clock import Clock
from engine.senders import MediaSender, MessageSender
from engine.whatsapp.types import NumberInfo
from storage.records import Campaign, CampaignStatus, SessionState


class CampaignTransport(MessageSender, MediaSender, Protocol):
    """What a campaign needs of a session (the SessionManager in production): sending texts
    and files, the session's state, and WhatsApp's word on a number."""

    def state(self, session_id: int) -> SessionState | None: ...

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
