"""The sender of one WhatsApp number: every running campaign on it, at the number's pace.

At-most-once: a recipient is committed as `sending` before the network call and as `sent`
after it (shielded from cancellation). When the outcome is unknown (a timeout mid-send, a crash)
the row becomes `unknown`, and is never sent again on its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Protocol

from engine.clock import Clock
from engine.events import CampaignProgress, EventBus
from engine.pacing import NumberPacer, PacingPolicy, estimate_finish, merged, recipient_timezone
from engine.templates import Template
from engine.whatsapp.errors import NotLoggedIn, SendFailed, SessionLost, WhatsAppError
from engine.whatsapp.types import SentMessage
from storage.db import Database, NotFound
from storage.records import (
    Campaign,
    CampaignStatus,
    Client,
    Direction,
    MessageStatus,
    NewMessage,
    Origin,
    Recipient,
    RecipientState,
    SessionState,
    SkipReason,
    WaSession,
)
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, MessageRepo, SessionRepo

logger = logging.getLogger(__name__)
DAY = timedelta(days=1)
FINISH_ESTIMATE_LIMIT = 2000  # simulate at most this many sends, extrapolate the rest


class CampaignTransport(Protocol):
    """What a campaign needs of a session (the SessionManager in production)."""

    def state(self, session_id: int) -> SessionState | None: ...

    async def send_text(
        self, session_id: int, chat_id: str, text: str, *, typing_ms: int = 0
    ) -> SentMessage: ...

    async def check_number(self, session_id: int, digits: str) -> str | None: ...


class NumberWorker:
    """Sends for every running campaign of one session, round robin, one message at a time."""

    def __init__(
        self,
        session_id: int,
        db: Database,
        bus: EventBus,
        transport: CampaignTransport,
        defaults: PacingPolicy,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.session_id = session_id
        self._campaigns = CampaignRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._clients = ClientRepo(db)
        self._sessions = SessionRepo(db)
        self._bus = bus
        self._transport = transport
        self._defaults = defaults
        self._clock = clock
        self._rng = rng
        self.wake = asyncio.Event()
        self.stopping = False
        self.idle = asyncio.Event()
        self._pacer: NumberPacer | None = None
        self._turn = 0
        self._client: Client | None = None
        self._templates: dict[int, Template] = {}
        self.session: WaSession | None = None

    def poke(self) -> None:
        """Something changed (launch, pause, state): look again before the next send."""
        self.idle.clear()
        self.wake.set()

    async def run(self) -> None:
        self.session = await self._sessions.get_by_id(self.session_id)
        since = self._clock.now() - DAY
        self._pacer = NumberPacer(
            history=await self._campaigns.sends_since(self.session_id, since), rng=self._rng
        )
        self._client = await self._clients.get_by_id(self.session.client_id)
        while not self.stopping:
            self.wake.clear()
            campaign = await self._pick()
            if campaign is None:
                self.idle.set()
                await self.wake.wait()
                self.idle.clear()
                continue
            await self._step(campaign)

    async def _pick(self) -> Campaign | None:
        """The next running campaign in turn, or None when there is nothing to send now."""
        if self._transport.state(self.session_id) is not SessionState.CONNECTED:
            return None
        running = await self._campaigns.list(
            session_id=self.session_id, statuses=[CampaignStatus.RUNNING]
        )
        if not running:
            return None
        # The turn moves on only after a campaign used it, so waiting for the number's next
        # slot does not hand that slot to another campaign.
        return running[self._turn % len(running)]

    async def _step(self, campaign: Campaign) -> None:
        assert self._pacer is not None and self._client is not None
        recipient = await self._campaigns.next_queued(campaign.id)
        if recipient is None:
            await self._finish(campaign)
            return
        policy = merged(self._defaults, await self._session_pacing(), campaign.pacing)
        zone = recipient_timezone(recipient.phone, self._client.timezone)
        age_days = await self._age_days()
        slot = self._pacer.next_slot(
            self._clock.now(), recipient_tz=zone, policy=policy, number_age_days=age_days
        )
        if slot > self._clock.now():
            await self._clock.sleep_until(slot, self.wake)
            return  # look again: a pause, a cancel or a disconnect may have come meanwhile
        fresh = await self._campaigns.get(campaign.id)
        if fresh.status is not CampaignStatus.RUNNING:
            return
        self._turn += 1
        await self._deliver(fresh, recipient, policy, zone, age_days)

    async def _deliver(
        self,
        campaign: Campaign,
        recipient: Recipient,
        policy: PacingPolicy,
        zone: str,
        age_days: int,
    ) -> None:
        assert self._pacer is not None
        contact = await self._contacts.get_by_id(recipient.contact_id)
        if contact.opted_out_at is not None:
            await self._skip(campaign, recipient, SkipReason.OPTED_OUT)
            return
        chat_id = contact.wa_id
        if chat_id is None:
            try:
                chat_id = await self._transport.check_number(self.session_id, recipient.phone)
            except (NotLoggedIn, SessionLost) as exc:
                logger.info("number check for %s postponed: %s", recipient.phone, exc)
                return
            if chat_id is None:
                await self._skip(campaign, recipient, SkipReason.NOT_ON_WHATSAPP)
                return
            await self._contacts.set_wa_id(contact.id, chat_id)
        fields = {**recipient.fields, "name": recipient.name or "", "phone": recipient.phone}
        body = (await self._template(campaign)).render(fields, self._rng)
        if not await self._campaigns.mark_sending(recipient.id, body):
            return
        try:
            sent = await self._transport.send_text(self.session_id, chat_id, body)
        except SendFailed as exc:
            await self._campaigns.mark_failed(recipient.id, str(exc))
        except (NotLoggedIn, SessionLost) as exc:
            if isinstance(exc, SessionLost) and exc.maybe_sent:
                await self._campaigns.mark_unknown(recipient.id, str(exc))
            else:
                await self._campaigns.requeue(recipient.id, str(exc))
                return
        except WhatsAppError as exc:
            await self._campaigns.mark_unknown(recipient.id, str(exc))
        else:
            # WhatsApp has the message: recording that must survive a cancellation.
            await asyncio.shield(self._record_sent(campaign, recipient, body, sent))
        await self._progress(campaign, policy, zone, age_days)

    async def _record_sent(
        self, campaign: Campaign, recipient: Recipient, body: str, sent: SentMessage
    ) -> None:
        assert self._pacer is not None
        at = self._clock.now()
        self._pacer.record_send(at)
        await self._campaigns.mark_sent(recipient.id, sent.id, at)
        await self._messages.add(
            NewMessage(
                campaign.client_id,
                recipient.contact_id,
                Direction.OUT,
                Origin.CAMPAIGN,
                body,
                at,
                session_id=self.session_id,
                wa_message_id=sent.id,
                status=MessageStatus.SENT,
                campaign_id=campaign.id,
            )
        )

    async def _skip(self, campaign: Campaign, recipient: Recipient, reason: SkipReason) -> None:
        await self._campaigns.skip(recipient.id, reason.value)
        await self._progress(campaign, None, None, None)

    async def _finish(self, campaign: Campaign) -> None:
        counts = await self._campaigns.counts(campaign.id)
        if counts.get(RecipientState.SENDING.value, 0) == 0:
            try:
                done = await self._campaigns.set_status(
                    campaign.id, CampaignStatus.COMPLETED, expect=[CampaignStatus.RUNNING]
                )
            except NotFound:
                return
            await self._progress(done, None, None, None)

    async def _progress(
        self,
        campaign: Campaign,
        policy: PacingPolicy | None,
        zone: str | None,
        age_days: int | None,
    ) -> None:
        counts = await self._campaigns.counts(campaign.id)
        remaining = counts.get(RecipientState.QUEUED.value, 0)
        finish = None
        if policy is not None and zone is not None and self._pacer is not None:
            simulated = min(remaining, FINISH_ESTIMATE_LIMIT)
            now = self._clock.now()
            end = estimate_finish(
                now,
                simulated,
                policy,
                recipient_tz=zone,
                number_age_days=age_days,
                history=self._pacer.history,
            )
            finish = now + (end - now) * (remaining / simulated) if simulated else now
        fresh = await self._campaigns.get(campaign.id)
        await self._bus.publish(CampaignProgress(fresh, counts, remaining, finish))

    async def _template(self, campaign: Campaign) -> Template:
        template = self._templates.get(campaign.id)
        if template is None:
            known = await self._contacts.field_keys(campaign.client_id)
            template = self._templates[campaign.id] = Template.parse(campaign.template, known)
        return template

    async def _session_pacing(self) -> dict[str, object] | None:
        return await self._sessions.pacing(self.session_id)

    async def _age_days(self) -> int:
        paired_at = await self._campaigns.paired_at(self.session_id)
        if paired_at is None:
            return 0
        return max(0, (self._clock.now() - paired_at) // DAY)
