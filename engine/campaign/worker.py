"""The sender of one WhatsApp number: every running campaign on it, at the number's pace.

At-most-once: a recipient is committed as `sending` before the network call and as `sent`
after it (shielded from cancellation). When the outcome is unknown (a timeout mid-send, a crash)
the row becomes `unknown`, and is never sent again on its own. A campaign with a file sends it
with the rendered template as its caption, on exactly the same path; the file is read from the
media store once per campaign, before `sending` is committed, so a missing file sends nothing.

A send is those two commits and nothing else of the database: the first (the claim) reads the
campaign's status and the recipient as they are now, keeps what WhatsApp said of a new number,
honours an opt-out and commits `sending`; it also reads the recipient after this one, whom the
next send plans for (its send window, its number check) and claims only if it is still first.
When that next send is due at once, its claim also commits the `sent` of this one (`_unrecorded`
until then): one commit per send. Whenever the worker is about to wait instead (a pacing gap,
nothing to send, a hold, the end of a campaign, a stop), it commits that `sent` on its own first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.campaign.files import CampaignFiles, sent_info
from engine.campaign.pacing import (
    NumberPacer,
    PacingPolicy,
    estimate_finish,
    merged,
    recipient_timezone,
)
from engine.campaign.ports import ACTIVE, CampaignControl, CampaignStatuses, CampaignTransport
from engine.campaign.templates import Template
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.events import CampaignProgress, EventBus, MessageSent
from engine.media_store import MediaStore
from engine.whatsapp.errors import (
    NotLoggedIn,
    NumberCheckUnavailable,
    SendFailed,
    SessionLost,
    WhatsAppError,
)
from engine.whatsapp.types import NumberInfo, OutgoingMedia, SentMessage
from storage.db import Database, NotFound, StorageUnavailable
from storage.records import (
    Campaign,
    CampaignStatus,
    Client,
    Direction,
    Lease,
    LeaseLost,
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
from storage.repos.recipient_sends import Sent

__all__ = ["ACTIVE", "CampaignControl", "CampaignStatuses", "CampaignTransport", "NumberWorker"]

logger = logging.getLogger(__name__)
DAY = timedelta(days=1)
FINISH_ESTIMATE_LIMIT = 2000  # simulate at most this many sends, extrapolate the rest
ESTIMATE_EVERY = 25  # sends between two re-estimates of the finish time,
ESTIMATE_GAP = timedelta(seconds=10)  # and at least this long: a burst needs no fresher one
CHECK_HOLD = timedelta(seconds=30)  # before asking again when WhatsApp could not say
MEDIA_MISSING = "the campaign's file is not in the media store: attach it again"

Fence = Callable[[int], Lease | None]
"""The lease a split deployment's worker holds on a session (engine/ownership.py)."""


class NumberWorker:
    """Sends for every running campaign of one session, round robin, one message at a time."""

    def __init__(
        self,
        session_id: int,
        db: Database,
        bus: EventBus,
        transport: CampaignTransport,
        statuses: CampaignStatuses,
        defaults: PacingPolicy,
        clock: Clock,
        rng: random.Random,
        media: MediaStore | None = None,
        media_timeout_s: float = 120.0,
        fence: Fence | None = None,
    ) -> None:
        """`fence` (a `waops worker`): the session's lease as this process holds it, which
        every claim checks in its transaction; None from it means not ours, send nothing."""
        self._fence = fence
        self.session_id = session_id
        self._files = CampaignFiles(media)
        self._media_timeout_s = media_timeout_s
        self._statuses = statuses
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
        self._stale = True
        self._running: list[Campaign] = []
        self._policies: dict[int, PacingPolicy] = {}
        self._paired_at: datetime | None = None
        self._counts: dict[int, Counter[str]] = {}
        # Per campaign: the remaining count, the finish and the time of the last estimate.
        self._estimates: dict[int, tuple[int, datetime | None, datetime]] = {}
        # Per campaign, the recipient the next send plans for (read with the last claim); the
        # claim reads it again, so a rename, an opt-out or a cancel meanwhile counts.
        self._next: dict[int, Recipient] = {}
        # The last send WhatsApp accepted, its `sent` not committed yet: the next claim commits
        # it, or `record_unrecorded` does before any wait.
        self._unrecorded: Sent | None = None
        self.session: WaSession | None = None

    def poke(self) -> None:
        """Something changed (launch, pause, state): look again before the next send."""
        self._stale = True
        self.idle.clear()
        self.wake.set()

    async def run(self) -> None:
        """Send until stopped; raises what it cannot handle (the engine restarts it)."""
        self._stale = True
        self._counts.clear()  # read again: the failure may have come between two counts
        self.session = await self._sessions.get_by_id(self.session_id)
        since = self._clock.now() - DAY
        self._pacer = NumberPacer(
            history=await self._campaigns.sends_since(self.session_id, since), rng=self._rng
        )
        self._client = await self._clients.get_by_id(self.session.client_id)
        try:
            while not self.stopping:
                self.wake.clear()
                campaign = await self._pick()
                if campaign is None:
                    await self.record_unrecorded()
                    self.idle.set()
                    await self.wake.wait()
                    self.idle.clear()
                    continue
                await self._step(campaign)
        finally:
            # A stop, a cancel or a failure: what WhatsApp accepted is recorded first. If the
            # database is away, it stays here for the engine's next run (before its recovery).
            try:
                await asyncio.shield(self.record_unrecorded())
            except Exception as exc:
                logger.warning(
                    "session %s: the last send's `sent` is kept for the next run: %s",
                    self.session_id,
                    exc,
                )

    async def record_unrecorded(self) -> None:
        """Commit the `sent` of the last send when no claim has carried it yet."""
        sent = self._unrecorded
        if sent is None:
            return
        try:
            await self._campaigns.record_sent(sent.recipient_id, sent.message)
        except StorageUnavailable:
            raise  # kept for the next try: the database is away
        except Exception:
            # Anything else would fail the same way again. The row stays `sending`, which the
            # engine's recovery after this failure makes `unknown`.
            self._unrecorded = None
            raise
        self._unrecorded = None

    async def _refresh(self) -> None:
        """Re-read what pokes announce: running campaigns, the number's pacing and age."""
        self._stale = False
        self._running = await self._campaigns.list(
            session_id=self.session_id, statuses=[CampaignStatus.RUNNING]
        )
        session_pacing = await self._sessions.pacing(self.session_id)
        self._policies = {
            c.id: merged(self._defaults, session_pacing, c.pacing) for c in self._running
        }
        self._paired_at = await self._campaigns.paired_at(self.session_id)
        self._next.clear()
        self._files.keep({c.media.sha256 for c in self._running if c.media is not None})

    async def _pick(self) -> Campaign | None:
        """The next running campaign in turn, or None when there is nothing to send now."""
        if self._transport.state(self.session_id) is not SessionState.CONNECTED:
            return None
        if self._stale:
            await self._refresh()
        if not self._running:
            return None
        # The turn moves on only after a campaign used it, so waiting for the number's next
        # slot does not hand that slot to another campaign.
        return self._running[self._turn % len(self._running)]

    async def _step(self, campaign: Campaign) -> None:
        assert self._pacer is not None and self._client is not None
        recipient = self._next.get(campaign.id)
        if recipient is None:
            recipient = await self._campaigns.next_queued(campaign.id)
            if recipient is None:
                await self._finish(campaign)
                return
            self._plan_next(campaign.id, recipient)
        policy = self._policies[campaign.id]
        zone = recipient_timezone(recipient.phone, self._client.timezone)
        age_days = self._age_days()
        slot = self._pacer.next_slot(
            self._clock.now(), recipient_tz=zone, policy=policy, number_age_days=age_days
        )
        if slot > self._clock.now():
            await self.record_unrecorded()
            await self._clock.sleep_until(slot, self.wake)
            return  # look again: a pause, a cancel or a disconnect may have come meanwhile
        self._turn += 1
        await self._deliver(campaign, recipient, policy, zone, age_days)

    async def _deliver(
        self,
        campaign: Campaign,
        planned: Recipient,
        policy: PacingPolicy,
        zone: str,
        age_days: int,
    ) -> None:
        """One send: the number check (first sight), then the claim (the campaign's status,
        the recipient as it is now, opt-out, `sending`) in one commit, the send, the outcome."""
        assert self._pacer is not None
        info = None
        if planned.wa_id is None and not planned.opted_out:  # the claim skips an opt-out
            info = await self._check_number(campaign, planned)
            if info is None:
                return
        file = None
        if campaign.media is not None:
            file = await self._file(campaign)
            if file is None:
                return  # the campaign is paused; this recipient stays queued
        template = await self._template(campaign)

        def render(recipient: Recipient) -> str:
            fields = {**recipient.fields, "name": recipient.name or "", "phone": recipient.phone}
            return template.render(fields, self._rng)

        lease = None
        if self._fence is not None:
            lease = self._fence(self.session_id)
            if lease is None:
                logger.info("session %s is not this worker's now: nothing sent", self.session_id)
                await self._hold()
                return
        try:
            claim = await self._campaigns.claim(
                campaign.id,
                planned.id,
                render,
                wa_id=None if info is None else info.wid,
                lid=None if info is None else info.lid,
                fence=lease,
                sent=self._unrecorded,
            )
        except LeaseLost as exc:
            logger.warning("campaign %s: %s", campaign.id, exc)
            await self._hold()  # which records the send before on its own
            return
        self._unrecorded = None  # the claim committed it
        recipient = claim.recipient
        self._plan_next(campaign.id, claim.following)
        if recipient is None:
            await self._finish(campaign)
        elif claim.status is not CampaignStatus.RUNNING:
            self._stale = True
            self._plan_next(campaign.id, None)
        elif recipient.state is RecipientState.QUEUED:
            self._plan_next(campaign.id, recipient)  # not the one planned for: plan again
        elif recipient.state is RecipientState.SKIPPED:
            await self._skipped(campaign, SkipReason.OPTED_OUT)
        else:
            assert recipient.wa_id is not None, "a claimed recipient has its WhatsApp id"
            await self._send(campaign, recipient, recipient.wa_id, file, policy, zone, age_days)

    def _plan_next(self, campaign_id: int, recipient: Recipient | None) -> None:
        """The recipient the campaign's next send plans for; None reads the queue again."""
        if recipient is None:
            self._next.pop(campaign_id, None)
        else:
            self._next[campaign_id] = recipient

    async def _send(
        self,
        campaign: Campaign,
        recipient: Recipient,
        chat_id: str,
        file: OutgoingMedia | None,
        policy: PacingPolicy,
        zone: str,
        age_days: int,
    ) -> None:
        """Send a recipient committed as `sending` and record what WhatsApp answered."""
        assert recipient.body is not None
        body = recipient.body
        outcome = RecipientState.SENT
        try:
            if file is None:
                sent = await self._transport.send_text(self.session_id, chat_id, body)
            else:
                sent = await self._transport.send_media(
                    self.session_id, chat_id, file, caption=body, timeout_s=self._media_timeout_s
                )
        except SendFailed as exc:
            outcome = RecipientState.FAILED
            await self._campaigns.mark_failed(recipient.id, str(exc))
        except (NotLoggedIn, SessionLost) as exc:
            if isinstance(exc, SessionLost) and exc.maybe_sent:
                outcome = RecipientState.UNKNOWN
                await self._campaigns.mark_unknown(recipient.id, str(exc))
            else:
                await self._campaigns.requeue(recipient.id, str(exc))
                self._plan_next(campaign.id, None)  # queued again, ahead of the one planned
                return
        except WhatsAppError as exc:
            # SendUnknown (ERROR_NETWORK: WhatsApp Web may still send it) and anything else
            # after the call started: it may have left, so it is never sent again on its own.
            outcome = RecipientState.UNKNOWN
            await self._campaigns.mark_unknown(recipient.id, str(exc))
        else:
            # WhatsApp has the message: the next claim commits `sent` with its own, or
            # `record_unrecorded` before any wait (and on a cancel, shielded, in `run`).
            self._unrecorded = self._sent(campaign, recipient, body, sent, file)
        await self._bus.publish(
            MessageSent(
                campaign.client_id, self.session_id, Origin.CAMPAIGN, outcome is RecipientState.SENT
            )
        )
        await self._progress(campaign, outcome.value, policy, zone, age_days)

    async def _check_number(self, campaign: Campaign, recipient: Recipient) -> NumberInfo | None:
        """What WhatsApp says of the recipient's number (asked once: the claim keeps its ids
        with the LID on the contact); None when the recipient was skipped or must wait for an
        answer WhatsApp cannot give now (offline, a server error), which holds the recipient,
        never skips it."""
        try:
            info = await self._transport.check_number(self.session_id, recipient.phone)
        except (NotLoggedIn, SessionLost, NumberCheckUnavailable) as exc:
            logger.info("number check for %s held: %s", recipient.phone, exc)
            await self._hold()
            return None
        except WhatsAppError as exc:
            logger.warning("number check for %s failed, held: %s", recipient.phone, exc)
            await self._hold()
            return None
        if info is None:
            self._plan_next(campaign.id, None)
            await self._skip(campaign, recipient, SkipReason.NOT_ON_WHATSAPP)
            return None
        return info

    async def _hold(self) -> None:
        """Wait before asking WhatsApp again (a poke ends the wait early)."""
        await self.record_unrecorded()
        await self._clock.sleep_until(self._clock.now() + CHECK_HOLD, self.wake)

    async def _file(self, campaign: Campaign) -> OutgoingMedia | None:
        """The campaign's file; when it is missing the campaign is paused with a reason saying
        what to do (nothing was sent, the recipient stays queued)."""
        assert campaign.media is not None
        file = await self._files.get(campaign.media)
        if file is None:
            logger.error("campaign %s: its file %s is missing", campaign.id, campaign.media.sha256)
            self._stale = True
            with contextlib.suppress(NotFound, InvalidInput):  # it moved meanwhile; said so
                await self._statuses.change(
                    campaign.id,
                    CampaignStatus.PAUSED,
                    MEDIA_MISSING,
                    expect=[CampaignStatus.RUNNING],
                )
        return file

    def _sent(
        self,
        campaign: Campaign,
        recipient: Recipient,
        body: str,
        sent: SentMessage,
        file: OutgoingMedia | None = None,
    ) -> Sent:
        """The send WhatsApp accepted, counted by the pacer, and what to record of it."""
        assert self._pacer is not None
        at = self._clock.now()
        self._pacer.record_send(at)
        return Sent(
            recipient.id,
            NewMessage(
                campaign.client_id,
                recipient.contact_id,
                Direction.OUT,
                Origin.CAMPAIGN,
                body,
                at,
                session_id=self.session_id,
                wa_message_id=sent.id,
                type="chat" if file is None else file.kind,
                status=MessageStatus.SENT,
                campaign_id=campaign.id,
                media=None if file is None else sent_info(file),
            ),
        )

    async def _skip(self, campaign: Campaign, recipient: Recipient, reason: SkipReason) -> None:
        if await self._campaigns.skip(recipient.id, reason.value):
            await self._skipped(campaign, reason)

    async def _skipped(self, campaign: Campaign, reason: SkipReason) -> None:
        await self._progress(campaign, RecipientState.SKIPPED.value, None, None, None, reason)

    async def _finish(self, campaign: Campaign) -> None:
        await self.record_unrecorded()  # the last send's `sent`, before counting
        counts = await self._campaigns.counts(campaign.id)
        if counts.get(RecipientState.SENDING.value, 0) == 0:
            try:
                done = await self._statuses.change(
                    campaign.id, CampaignStatus.COMPLETED, None, expect=[CampaignStatus.RUNNING]
                )
            except (NotFound, InvalidInput):
                return  # paused, cancelled or deleted meanwhile: that move said so already
            self._stale = True
            self._counts[campaign.id] = Counter(counts)
            await self._bus.publish(CampaignProgress(done, counts, 0, self._clock.now()))

    async def _progress(
        self,
        campaign: Campaign,
        outcome: str,
        policy: PacingPolicy | None,
        zone: str | None,
        age_days: int | None,
        reason: SkipReason | None = None,
    ) -> None:
        """Counts kept in memory (read once from storage), so progress costs no query."""
        counts = self._counts.get(campaign.id)
        if counts is None:
            await self.record_unrecorded()  # counted as `sent`, not `sending`
            counts = self._counts[campaign.id] = Counter(await self._campaigns.counts(campaign.id))
        else:
            counts[RecipientState.QUEUED.value] -= 1
            counts[outcome] += 1
            if reason is not None:
                counts[f"skipped:{reason.value}"] += 1
        remaining = counts[RecipientState.QUEUED.value]
        finish = self._finish_at(campaign.id, remaining, policy, zone, age_days)
        await self._bus.publish(CampaignProgress(campaign, dict(counts), remaining, finish))

    def _finish_at(
        self,
        campaign_id: int,
        remaining: int,
        policy: PacingPolicy | None,
        zone: str | None,
        age_days: int | None,
    ) -> datetime | None:
        """Expected finish, re-simulated every few sends and seconds (each costs a simulation
        per send remaining, up to FINISH_ESTIMATE_LIMIT)."""
        now = self._clock.now()
        cached = self._estimates.get(campaign_id)
        if (
            cached is not None
            and remaining
            and (cached[0] - remaining < ESTIMATE_EVERY or now - cached[2] < ESTIMATE_GAP)
        ):
            return cached[1]
        if policy is None or zone is None or self._pacer is None:
            return None if cached is None else cached[1]
        simulated = min(remaining, FINISH_ESTIMATE_LIMIT)
        end = estimate_finish(
            now,
            simulated,
            policy,
            recipient_tz=zone,
            number_age_days=age_days,
            history=self._pacer.history,
        )
        finish = now + (end - now) * (remaining / simulated) if simulated else now
        self._estimates[campaign_id] = (remaining, finish, now)
        return finish

    async def _template(self, campaign: Campaign) -> Template:
        template = self._templates.get(campaign.id)
        if template is None:
            known = await self._contacts.field_keys(campaign.client_id)
            template = self._templates[campaign.id] = Template.parse(campaign.template, known)
        return template

    def _age_days(self) -> int:
        if self._paired_at is None:
            return 0
        return max(0, int((self._clock.now() - self._paired_at) / DAY))
