"""Campaigns: create, preview, launch (now or scheduled), pause, resume, cancel, report; and the
engine that runs one `NumberWorker` per WhatsApp number.

The schedule lives in our tables; APScheduler (in memory) is only the timer, re-armed from the
database at start. Campaigns pause on their own when their number leaves `connected` and resume
when it is back; a banned number stops its campaigns.
"""

from __future__ import annotations

import builtins
import csv
import io
import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from engine.campaign_worker import CampaignTransport, NumberWorker
from engine.clock import Clock, SystemClock
from engine.errors import InvalidInput
from engine.events import (
    CampaignRecovered,
    CampaignStatusChanged,
    EventBus,
    MessageStored,
    SessionStateChanged,
)
from engine.pacing import PacingPolicy, merged
from engine.tasks import TaskOwner
from engine.templates import Template
from storage.db import Database, NotFound
from storage.records import Campaign, CampaignStatus, Direction, SessionState, SkipReason, WaSession
from storage.repos import CampaignRepo, ClientRepo, ContactRepo, SessionRepo
from storage.repos.campaigns import selection_query

logger = logging.getLogger(__name__)

AUTO_PAUSE = "auto: "
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)


def parse_selection(text: str) -> dict[str, Any]:
    """`all`, `tag:feria` (or just `feria`), `field:ciudad=Rosario` -> the stored selection."""
    text = text.strip()
    if text.lower() in ("all", "todos"):
        return {"all": True}
    if text.startswith("field:"):
        field, sep, value = text[len("field:") :].partition("=")
        if not sep or not field.strip():
            raise InvalidInput(f"{text!r}: write a field selection as field:ciudad=Rosario")
        return {"field": field.strip().lower(), "value": value.strip()}
    tag = text.removeprefix("tag:").strip()
    if not tag:
        raise InvalidInput("say who receives it: all, a tag like feria, or field:ciudad=Rosario")
    return {"tag": tag}


@dataclass(frozen=True)
class LaunchPlan:
    """What a launch would do, for the confirmation an operator sees first."""

    campaign: Campaign
    recipients: int
    opted_out: int
    policy: PacingPolicy


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]
    reply_rate: float
    csv: bytes


class CampaignService:
    """What operators do with campaigns; the engine does the sending."""

    def __init__(
        self,
        db: Database,
        engine: CampaignEngine,
        defaults: PacingPolicy,
        rng: random.Random | None = None,
    ):
        self._db = db
        self._engine = engine
        self._defaults = defaults
        self._rng = rng or random.Random()
        self._repo = CampaignRepo(db)
        self._clients = ClientRepo(db)
        self._sessions = SessionRepo(db)
        self._contacts = ContactRepo(db)

    async def create(
        self,
        client_slug: str,
        session_name: str,
        selection: str,
        template: str,
        *,
        name: str | None = None,
        pacing: dict[str, Any] | None = None,
        created_by: str | None = None,
    ) -> Campaign:
        client = await self._clients.get(client_slug)
        session = await self._sessions.get(client_slug, session_name)
        Template.parse(template, await self._contacts.field_keys(client.id))  # explains errors
        if pacing:
            PacingPolicy.from_dict(pacing)
        chosen = parse_selection(selection)
        label = name or f"{client_slug} {selection.strip()}"
        return await self._repo.create(
            client.id,
            session.id,
            label[:200],
            template,
            chosen,
            pacing=pacing,
            created_by=created_by,
        )

    async def sessions_of(self, client_slug: str) -> builtins.list[WaSession]:
        """The numbers a client's campaign can go out from."""
        return await self._sessions.list(client_slug)

    async def tags_of(self, client_slug: str) -> dict[str, int]:
        """The audiences a client's campaign can choose from: tags and their sizes."""
        client = await self._clients.get(client_slug)
        tags = await self._contacts.count_by_tag(client.id)
        return {"all": await self._contacts.count(client.id), **tags}

    async def number_pacing(
        self, client_slug: str, session_name: str, changes: dict[str, str] | None = None
    ) -> PacingPolicy:
        """A number's pacing (process defaults with its overrides); `changes` (`key: value`
        text, `default` to drop an override) are validated and saved first."""
        session = await self._sessions.get(client_slug, session_name)
        overrides = dict(await self._sessions.pacing(session.id) or {})
        if changes:
            for key, value in changes.items():
                if value == "default":
                    overrides.pop(key, None)
                else:
                    overrides[key] = value
            PacingPolicy.from_dict(overrides)  # InvalidInput names the bad key
            await self._sessions.set_pacing(session.id, overrides or None)
            self._engine.poke(session.id)
        return merged(self._defaults, overrides)

    async def get(self, campaign_id: int) -> Campaign:
        return await self._repo.get(campaign_id)

    async def all(self, client_slug: str | None = None) -> list[Campaign]:
        client_id = None if client_slug is None else (await self._clients.get(client_slug)).id
        return await self._repo.list(client_id=client_id)

    async def preview(self, campaign_id: int, count: int = 3) -> list[tuple[str, str]]:
        """(phone, text) rendered for the first `count` recipients the selection matches."""
        campaign = await self._repo.get(campaign_id)
        template = Template.parse(
            campaign.template, await self._contacts.field_keys(campaign.client_id)
        )
        async with self._db.session() as session:
            ids = list(
                await session.scalars(
                    selection_query(campaign.client_id, campaign.selection).limit(count)
                )
            )
        rendered = []
        for contact_id in ids:
            contact = await self._contacts.get_by_id(contact_id)
            fields = {**contact.fields, "name": contact.name or "", "phone": contact.phone}
            rendered.append((contact.phone, template.render(fields, self._rng)))
        return rendered

    async def plan(self, campaign_id: int) -> LaunchPlan:
        campaign = await self._repo.get(campaign_id)
        async with self._db.session() as session:
            ids = list(
                await session.scalars(selection_query(campaign.client_id, campaign.selection))
            )
        opted_out = 0
        for contact_id in ids:
            if (await self._contacts.get_by_id(contact_id)).opted_out_at is not None:
                opted_out += 1
        policy = merged(
            self._defaults, await self._sessions.pacing(campaign.session_id), campaign.pacing
        )
        return LaunchPlan(campaign, len(ids), opted_out, policy)

    async def launch(self, campaign_id: int, at: datetime | None = None) -> Campaign:
        """Freeze the recipients and start now, or at `at` (aware) in the schedule."""
        campaign = await self._repo.get(campaign_id)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise InvalidInput(
                f"campaign {campaign_id} is {campaign.status}; only a draft can be launched"
            )
        if await self._repo.materialize(campaign) == 0 and not (
            await self._repo.counts(campaign_id)
        ).get("queued"):
            raise InvalidInput(
                f"nobody matches {campaign.selection}: import prospects or choose another tag"
            )
        if at is not None and at > self._engine.clock.now():
            return await self._engine.change(
                campaign_id, CampaignStatus.SCHEDULED, None, scheduled_at=at
            )
        return await self._engine.change(campaign_id, CampaignStatus.RUNNING, None)

    async def pause(self, campaign_id: int) -> Campaign:
        return await self._engine.change(
            campaign_id,
            CampaignStatus.PAUSED,
            "paused by an operator",
            expect=[CampaignStatus.RUNNING, CampaignStatus.SCHEDULED],
        )

    async def resume(self, campaign_id: int) -> Campaign:
        campaign = await self._repo.get(campaign_id)
        if campaign.status_reason == "number banned":
            raise InvalidInput("this number is banned by WhatsApp: its campaigns cannot resume")
        return await self._engine.change(
            campaign_id, CampaignStatus.RUNNING, None, expect=[CampaignStatus.PAUSED]
        )

    async def cancel(self, campaign_id: int) -> Campaign:
        campaign = await self._engine.change(
            campaign_id,
            CampaignStatus.CANCELLED,
            "cancelled by an operator",
            expect=[CampaignStatus.DRAFT, *ACTIVE],
        )
        await self._repo.skip_all_queued(campaign_id, SkipReason.CANCELLED.value)
        return campaign

    async def report(self, campaign_id: int) -> CampaignReport:
        campaign = await self._repo.get(campaign_id)
        counts = await self._repo.counts(campaign_id)
        delivered = sum(counts.get(state, 0) for state in ("sent", "delivered", "read"))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["phone", "name", "state", "reason", "sent_at", "replied_at", "message_id", "text"]
        )
        async for r in self._repo.recipients(campaign_id):
            writer.writerow(
                [
                    r.phone,
                    r.name or "",
                    r.state,
                    r.reason or "",
                    _iso(r.sent_at),
                    _iso(r.replied_at),
                    r.wa_message_id or "",
                    r.body or "",
                ]
            )
        rate = counts.get("replied", 0) / delivered if delivered else 0.0
        return CampaignReport(campaign, counts, rate, buffer.getvalue().encode("utf-8"))


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
    ) -> None:
        self._db = db
        self._bus = bus
        self._transport = transport
        self._defaults = defaults
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._repo = CampaignRepo(db)
        self._sessions = SessionRepo(db)
        self._workers: dict[int, NumberWorker] = {}
        self._tasks = TaskOwner("campaigns")
        self._scheduler: AsyncIOScheduler | None = None
        self._started = False

    async def start(self) -> None:
        """Recover from a crash, re-arm schedules, start the numbers that have work."""
        for campaign_id, unknown in (await self._repo.stale_sending_to_unknown()).items():
            campaign = await self._repo.get(campaign_id)
            logger.warning(
                "campaign %s: %d sends were interrupted; they are 'unknown'", campaign_id, unknown
            )
            await self._bus.publish(CampaignRecovered(campaign, unknown))
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.start()
        for campaign in await self._repo.list(statuses=list(ACTIVE)):
            if campaign.status is CampaignStatus.SCHEDULED and campaign.scheduled_at is not None:
                self._arm(campaign.id, campaign.scheduled_at)
            self.poke(campaign.session_id)
        self._bus.subscribe(SessionStateChanged, self.on_session_state)
        self._bus.subscribe(MessageStored, self.on_message_stored)
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._bus.unsubscribe(SessionStateChanged, self.on_session_state)
        self._bus.unsubscribe(MessageStored, self.on_message_stored)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
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
                self._defaults,
                self.clock,
                self._rng,
            )
            self._workers[session_id] = worker
            self._tasks.spawn(f"campaigns:session-{session_id}", worker.run())
        worker.poke()

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
            raise InvalidInput(str(exc)) from exc
        if status is CampaignStatus.SCHEDULED and scheduled_at is not None:
            self._arm(campaign_id, scheduled_at)
        self.poke(after.session_id)
        await self._bus.publish(CampaignStatusChanged(after, before.status, reason))
        return after

    def _arm(self, campaign_id: int, at: datetime) -> None:
        """Fire at `at`; a time already past (the process was down) fires now."""
        assert self._scheduler is not None
        if at <= self.clock.now():
            self._tasks.spawn(f"campaign:{campaign_id}:start", self._fire(campaign_id))
            return
        self._scheduler.add_job(
            self._fire,
            "date",
            run_date=at,
            args=[campaign_id],
            id=f"campaign:{campaign_id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

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
                await self.change(campaign.id, CampaignStatus.PAUSED, "number banned")
        elif event.new is SessionState.CONNECTED:
            for campaign in await self._repo.list(
                session_id=session_id, statuses=[CampaignStatus.PAUSED]
            ):
                if (campaign.status_reason or "").startswith(AUTO_PAUSE):
                    await self.change(
                        campaign.id, CampaignStatus.RUNNING, None, expect=[CampaignStatus.PAUSED]
                    )
        elif event.old is SessionState.CONNECTED:
            reason = f"{AUTO_PAUSE}the number is {event.new.value}"
            for campaign in await self._repo.list(
                session_id=session_id, statuses=[CampaignStatus.RUNNING]
            ):
                await self.change(
                    campaign.id, CampaignStatus.PAUSED, reason, expect=[CampaignStatus.RUNNING]
                )
        self.poke(session_id)

    async def on_message_stored(self, event: MessageStored) -> None:
        """A recipient's reply counts for the campaign that wrote to them."""
        if event.message.direction is Direction.IN:
            await self._repo.link_reply(event.message.contact_id, event.message.sent_at)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()
