"""The campaign runner: one `NumberWorker` per WhatsApp number, statuses kept in step with
the sessions (operators' actions are in engine/campaign/service.py).

The schedule lives in our tables; a timer on the engine's clock (engine/timers.py) is only the
alarm, re-armed from the database at start. Campaigns pause on their own when their number
leaves `connected` and resume when it is back; a banned number stops its campaigns.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime
from functools import partial

from engine.campaign.pacing import PacingPolicy
from engine.campaign.worker import ACTIVE, CampaignTransport, Fence, NumberWorker
from engine.clock import Clock, SystemClock
from engine.errors import InvalidInput
from engine.events import (
    CampaignRecovered,
    CampaignStatusChanged,
    EventBus,
    NumberWorkerFailed,
    SessionStateChanged,
)
from engine.media_store import MediaStore
from engine.retry import Backoff
from engine.tasks import TaskOwner
from engine.timers import Timers
from storage.db import Database, NotFound, StorageUnavailable
from storage.records import Campaign, CampaignStatus, SessionState
from storage.repos import CampaignRepo, SessionRepo

logger = logging.getLogger(__name__)

AUTO_PAUSE = "auto: "
HEALTHY_RUN_S = 60.0  # a worker that ran this long before failing starts its backoff afresh


class CampaignEngine:
    """Runs a `NumberWorker` per session with campaigns, keeps statuses in step with sessions."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        transport: CampaignTransport,
        defaults: PacingPolicy,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        media: MediaStore | None = None,
        media_timeout_s: float = 120.0,
        fence: Fence | None = None,
    ) -> None:
        """`fence`: for a `waops worker`, what each number's claims are fenced by (`NumberWorker`);
        with it, interrupted sends are recovered per session as the worker takes it over
        (`recover`), never all at start, which would cut another worker's sends."""
        self._fence = fence
        self._db = db
        self._media = media
        self._media_timeout_s = media_timeout_s
        self._bus = bus
        self._transport = transport
        self._defaults = defaults
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._backoff = backoff or Backoff(initial_s=1.0, max_s=60.0)
        self._repo = CampaignRepo(db)
        self._sessions = SessionRepo(db)
        self._workers: dict[int, NumberWorker] = {}
        self._tasks = TaskOwner("campaigns")
        self._timers = Timers(self.clock, self._tasks)
        self._started = False

    async def start(self) -> None:
        """Recover from a crash, re-arm schedules, start the numbers that have work."""
        if self._fence is None:
            await self.recover()
        for campaign in await self._repo.list(statuses=list(ACTIVE)):
            if campaign.status is CampaignStatus.SCHEDULED and campaign.scheduled_at is not None:
                self._arm(campaign.id, campaign.scheduled_at)
            self.poke(campaign.session_id)
        self._bus.subscribe(SessionStateChanged, self.on_session_state)
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._bus.unsubscribe(SessionStateChanged, self.on_session_state)
        await self._timers.shutdown(grace_s=10.0)  # a start already firing gets to finish
        for worker in self._workers.values():
            worker.stopping = True
            worker.poke()
        await self._tasks.shutdown(grace_s=10.0)
        self._workers.clear()

    def poke(self, session_id: int) -> None:
        """Make sure the number's worker exists and looks at its campaigns again."""
        worker = self._workers.get(session_id)
        if worker is None:
            worker = NumberWorker(
                session_id,
                self._db,
                self._bus,
                self._transport,
                self,
                self._defaults,
                self.clock,
                self._rng,
                media=self._media,
                media_timeout_s=self._media_timeout_s,
                fence=self._fence,
            )
            self._workers[session_id] = worker
            self._tasks.spawn(f"campaigns:session-{session_id}", self._supervise(worker))
        worker.poke()

    async def _supervise(self, worker: NumberWorker) -> None:
        """Run a number's sender until the engine stops; on a storage outage or a bug it is
        restarted with backoff (and operators hear of it), so its campaigns never stall while
        they say `running`. A restart first commits the `sent` of a send WhatsApp accepted
        that the failure left unrecorded, then finds any `sending` row of its own: that send
        was cut off mid-way, so it becomes `unknown`, never queued again."""
        failures = 0
        while not worker.stopping:
            started = time.monotonic()
            try:
                await worker.run()
                return
            except Exception as exc:
                if time.monotonic() - started > HEALTHY_RUN_S:
                    failures = 0
                delay_s = self._backoff.delay_s(failures)
                failures += 1
                if isinstance(exc, StorageUnavailable):
                    logger.warning("campaigns of session %s: %s", worker.session_id, exc)
                else:
                    logger.exception("campaigns of session %s failed", worker.session_id)
                client_id = worker.session.client_id if worker.session else None
                await self._bus.publish(
                    NumberWorkerFailed(worker.session_id, client_id, str(exc), failures, delay_s)
                )
            await asyncio.sleep(delay_s)
            try:
                await worker.record_unrecorded()  # a send WhatsApp accepted is not `unknown`
                await self.recover(worker.session_id)
            except StorageUnavailable:
                continue  # still away: the next run fails and waits longer

    async def recover(self, session_id: int | None = None) -> None:
        """Sends cut off mid-way (a crash, a worker restart, a session another worker owned
        until now: that owner is fenced out of any further claim) become `unknown` for an
        operator."""
        for campaign_id, unknown in (await self._repo.stale_sending_to_unknown(session_id)).items():
            campaign = await self._repo.get(campaign_id)
            logger.warning(
                "campaign %s: %d sends were interrupted; they are 'unknown'", campaign_id, unknown
            )
            await self._bus.publish(CampaignRecovered(campaign, unknown))

    async def run_until_idle(self) -> None:
        """Wait until every worker has nothing it may send now (tests, benchmarks)."""
        for worker in list(self._workers.values()):
            worker.poke()
            await worker.idle.wait()

    async def change(
        self,
        campaign_id: int,
        status: CampaignStatus,
        reason: str | None,
        *,
        expect: list[CampaignStatus] | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign:
        """Move a campaign and let its number's worker know before its next send."""
        before = await self._repo.get(campaign_id)
        try:
            after = await self._repo.set_status(
                campaign_id, status, reason, expect=expect, scheduled_at=scheduled_at
            )
        except NotFound as exc:
            if expect is None:
                raise
            # Another move got there first: say where the campaign is now.
            now = await self._repo.get(campaign_id)
            expected = "/".join(s.value for s in expect)
            raise InvalidInput(
                "transition.refused", id=campaign_id, status=now.status, expected=expected
            ) from exc
        if status is CampaignStatus.SCHEDULED and scheduled_at is not None:
            self._arm(campaign_id, scheduled_at)
        self.poke(after.session_id)
        await self._bus.publish(CampaignStatusChanged(after, before.status, reason))
        return after

    def _arm(self, campaign_id: int, at: datetime) -> None:
        """Fire at `at`; a time already past (the process was down) fires now."""
        self._timers.at(f"campaign:{campaign_id}:start", at, partial(self._fire, campaign_id))

    async def _fire(self, campaign_id: int) -> None:
        try:
            await self.change(
                campaign_id, CampaignStatus.RUNNING, None, expect=[CampaignStatus.SCHEDULED]
            )
        except InvalidInput:
            logger.info("campaign %s was no longer scheduled when its time came", campaign_id)

    async def on_session_state(self, event: SessionStateChanged) -> None:
        session_id = event.session.session_id
        if event.new is SessionState.BANNED:
            for campaign in await self._repo.list(session_id=session_id, statuses=list(ACTIVE)):
                await self._follow(campaign, CampaignStatus.PAUSED, "number banned", list(ACTIVE))
        elif event.new is SessionState.CONNECTED:
            for campaign in await self._repo.list(
                session_id=session_id, statuses=[CampaignStatus.PAUSED]
            ):
                if (campaign.status_reason or "").startswith(AUTO_PAUSE):
                    await self._follow(
                        campaign, CampaignStatus.RUNNING, None, [CampaignStatus.PAUSED]
                    )
        elif event.old is SessionState.CONNECTED:
            reason = f"{AUTO_PAUSE}the number is {event.new.value}"
            for campaign in await self._repo.list(
                session_id=session_id, statuses=[CampaignStatus.RUNNING]
            ):
                await self._follow(
                    campaign, CampaignStatus.PAUSED, reason, [CampaignStatus.RUNNING]
                )
        self.poke(session_id)

    async def _follow(
        self,
        campaign: Campaign,
        status: CampaignStatus,
        reason: str | None,
        expect: list[CampaignStatus],
    ) -> None:
        """Follow the number's state; a campaign that moved meanwhile (it finished, an operator
        paused it) is left as it is."""
        try:
            await self.change(campaign.id, status, reason, expect=expect)
        except InvalidInput as exc:
            logger.info("campaign %s left as it is: %s", campaign.id, exc)
