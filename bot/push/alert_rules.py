"""When to alert: engine events in, alerts grouped per client and session out.

A session that drops is only reported if it is still down after the grace period; once an
alert fires it stays one alert through further drops (flapping), and it resolves once, after
the session has stayed connected for a settling period. State per session is kept in memory;
the alerts themselves are in the database, so a restart resolves what it finds connected.
While the database is away, what is raised or resolved is held by `Alerts` and retried here on
a timer until it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from bot.push.alerts import AlertKind, Alerts, contact_key, session_key
from engine.clock import Clock
from engine.events import (
    AIFailed,
    CampaignRecovered,
    CampaignStatusChanged,
    ContactSignal,
    EventBus,
    Handler,
    HandoffRequested,
    HotLeadDetected,
    InboundSpoolFailed,
    NumberWorkerFailed,
    QrExpired,
    SessionRef,
    SessionStateChanged,
    Subscriber,
    WorkerLost,
)
from engine.tasks import TaskOwner
from engine.timers import Timers
from storage.db import Database, StorageError, StorageUnavailable
from storage.records import CampaignStatus, NewAlert, SessionState, WaSession, contact_label
from storage.repos import CampaignRepo

logger = logging.getLogger(__name__)

_TROUBLE = {
    SessionState.LOGGED_OUT: AlertKind.SESSION_LOGGED_OUT,
    SessionState.CONFLICT: AlertKind.SESSION_CONFLICT,  # open elsewhere: take over or leave it
    SessionState.BANNED: AlertKind.SESSION_BANNED,
    SessionState.FAILED: AlertKind.SESSION_FAILED,
}
_DOWN = {SessionState.DISCONNECTED, SessionState.RECONNECTING}
_AUTO_PAUSE = ("auto:", "number banned")
_DETAIL_CHARS = 300
_BACKLOG = "alert-backlog"
_LAST_FLUSH_S = 5.0


def _clip(text: str, limit: int = _DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AlertRules(Subscriber):
    """Hears engine events and raises, bumps and resolves alerts through `Alerts`.

    It hears the bus from `start()` (before sessions start, so their first states count) to
    `stop()`; `AlertRepeats` repeats the alerts that keep firing.
    """

    def __init__(self, db: Database, bus: EventBus, alerts: Alerts, clock: Clock) -> None:
        super().__init__(bus)
        self._alerts = alerts
        self._policy = alerts.policy
        self._clock = clock
        self._campaigns = CampaignRepo(db)
        self._timers = Timers(clock)
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._down_since: dict[int, datetime] = {}
        self._drops: dict[int, deque[datetime]] = defaultdict(deque)
        self._stopping = asyncio.Event()
        alerts.on_held = self._retry_held_later

    def handlers(self) -> list[tuple[type, Handler]]:
        return [
            (SessionStateChanged, self.on_session_state),
            (QrExpired, self.on_qr_expired),
            (AIFailed, self.on_ai_failed),
            (HandoffRequested, self.on_handoff),
            (HotLeadDetected, self.on_hot_lead),
            (CampaignStatusChanged, self.on_campaign_status),
            (CampaignRecovered, self.on_campaign_recovered),
            (NumberWorkerFailed, self.on_worker_failed),
            (InboundSpoolFailed, self.on_spool_failed),
            (WorkerLost, self.on_worker_lost),
        ]

    async def stop(self) -> None:
        await super().stop()
        self._stopping.set()
        await self._timers.shutdown()
        if self._alerts.held:  # a last try: what is still held now is lost with the process
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_LAST_FLUSH_S):
                    await self._alerts.flush()
            if self._alerts.held:
                logger.error("%d alert changes could not be stored", self._alerts.held)

    async def run_until_idle(self) -> None:
        """Wait until every timer that is due has fired (tests move the clock first)."""
        await self._timers.run_until_idle()

    def _retry_held_later(self) -> None:
        if not self._stopping.is_set() and not self._timers.pending(_BACKLOG):
            self._timers.start(_BACKLOG, self._policy.backlog_retry_s, self._retry_held)

    async def _retry_held(self) -> None:
        if not await self._alerts.flush():
            self._retry_held_later()

    # -- sessions ----------------------------------------------------------------------------

    async def on_session_state(self, event: SessionStateChanged) -> None:
        ref = event.session
        async with self._locks[ref.session_id]:
            if event.new is SessionState.CONNECTED:
                await self._connected(ref)
            elif event.new in _DOWN:
                await self._dropped(ref, event)
            elif event.new in _TROUBLE:
                self._calm(ref.session_id)
                detail = _clip(event.reason or event.new.value)
                await self._alerts.fire(self._session_alert(ref, _TROUBLE[event.new], detail))
            elif event.new is SessionState.STOPPED:
                # Stopped on purpose (or at shutdown): no grace timer; a firing alert stays
                # until the session connects again.
                self._calm(ref.session_id)

    async def resume(self, sessions: Iterable[WaSession]) -> None:
        """Carry on from the stored states, for a `waops bot` that became the active one while
        the workers ran (issue 17): the events of a drop it never heard (before its event log
        cursor) still count. A session down still alerts when its grace, counted from when it
        went down, is over; one in trouble is alerted unless that alert fires already (a drop's
        alert escalates, as it would have); one connected settles a firing alert. Events
        replayed after this are the same drop."""
        try:
            firing = {alert.dedupe_key: alert.kind for alert in await self._alerts.repo.firing()}
        except StorageUnavailable as exc:
            logger.warning("alerts not resumed from the stored states: %s", exc)
            return
        now = self._clock.now()
        for stored in sessions:
            ref = SessionRef(stored.id, stored.client_id, stored.client_slug, stored.name)
            key, state = session_key(stored.id), stored.state
            async with self._locks[stored.id]:
                if state is SessionState.CONNECTED:
                    await self._connected(ref)
                elif state in _TROUBLE and firing.get(key) != _TROUBLE[state].value:
                    detail = _clip(stored.state_reason or state.value)
                    await self._alerts.fire(self._session_alert(ref, _TROUBLE[state], detail))
                elif state in _DOWN:
                    self._down_since.setdefault(stored.id, stored.state_changed_at)
                    if key not in firing:  # else told already: its restore settles it
                        detail = _clip(stored.state_reason or state.value)
                        since = (now - stored.state_changed_at).total_seconds()
                        self._timers.start(
                            f"down:{stored.id}",
                            max(0.0, self._policy.grace_s - since),
                            partial(self._grace_over, ref, detail),
                        )

    def _calm(self, session_id: int) -> None:
        self._timers.cancel(f"down:{session_id}")
        self._timers.cancel(f"settle:{session_id}")
        self._down_since.pop(session_id, None)

    async def _connected(self, ref: SessionRef) -> None:
        sid = ref.session_id
        self._timers.cancel(f"down:{sid}")
        self._down_since.pop(sid, None)
        # Not known while the database is away: settle anyway (a resolve of nothing is none).
        if await self._alerts.is_firing(session_key(sid)) is not False:
            self._timers.start(
                f"settle:{sid}", self._policy.settle_after_s, partial(self._settled, ref)
            )

    async def _settled(self, ref: SessionRef) -> None:
        async with self._locks[ref.session_id]:
            if ref.session_id not in self._down_since:
                await self._alerts.resolve(session_key(ref.session_id))

    async def _dropped(self, ref: SessionRef, event: SessionStateChanged) -> None:
        sid = ref.session_id
        self._timers.cancel(f"settle:{sid}")
        if sid in self._down_since:
            return  # disconnected -> reconnecting -> ...: the same drop
        self._down_since[sid] = event.at
        drops = self._drops[sid]
        drops.append(event.at)
        while drops and drops[0] < event.at - timedelta(seconds=self._policy.flap_window_s):
            drops.popleft()
        detail = _clip(event.reason or event.new.value)
        # Not known while the database is away: the grace timer decides (a bump if it fires).
        if await self._alerts.is_firing(session_key(sid)):
            # Still the same trouble: count it, keep one alert.
            await self._alerts.fire(
                self._session_alert(ref, AlertKind.SESSION_DOWN, detail), escalate=False
            )
        elif len(drops) >= self._policy.flap_count:
            flapping = self._session_alert(ref, AlertKind.SESSION_FLAPPING, str(len(drops)))
            await self._alerts.fire(flapping, escalate=False)
        else:
            self._timers.start(
                f"down:{sid}", self._policy.grace_s, partial(self._grace_over, ref, detail)
            )

    async def _grace_over(self, ref: SessionRef, detail: str) -> None:
        async with self._locks[ref.session_id]:
            if ref.session_id in self._down_since:
                down = self._session_alert(ref, AlertKind.SESSION_DOWN, detail)
                await self._alerts.fire(down, escalate=False)

    @staticmethod
    def _session_alert(ref: SessionRef, kind: AlertKind, detail: str) -> NewAlert:
        return NewAlert(
            ref.client_id, ref.session_id, kind.value, session_key(ref.session_id), detail
        )

    async def on_qr_expired(self, event: QrExpired) -> None:
        ref = event.session
        expired = NewAlert(
            ref.client_id,
            ref.session_id,
            AlertKind.QR_EXPIRED.value,
            f"qr:{ref.session_id}",
            "",
            one_shot=True,
        )
        await self._alerts.fire(expired)

    # -- conversations and AI ----------------------------------------------------------------

    async def on_ai_failed(self, event: AIFailed) -> None:
        client_id = event.session.client_id
        key = f"ai:{client_id}"
        detail = _clip(f"{event.kind}: {event.detail}" if event.detail else event.kind)
        await self._alerts.fire(NewAlert(client_id, None, AlertKind.AI_FAILING.value, key, detail))
        # Resolved once the client had no failure for a while.
        self._timers.start(
            f"ai-quiet:{client_id}", self._policy.ai_quiet_s, partial(self._alerts.resolve, key)
        )

    async def on_handoff(self, event: HandoffRequested) -> None:
        await self._contact_alert(AlertKind.HANDOFF, event)

    async def on_hot_lead(self, event: HotLeadDetected) -> None:
        await self._contact_alert(AlertKind.HOT_LEAD, event)

    async def _contact_alert(self, kind: AlertKind, event: ContactSignal) -> None:
        ref, who = event.session, contact_label(event.phone, event.lid)
        key = contact_key(kind, ref.client_id, who.lstrip("+"))
        detail = f"{who}: «{_clip(event.text, 200)}»"
        new = NewAlert(ref.client_id, ref.session_id, kind.value, key, detail, one_shot=True)
        await self._alerts.fire(new)

    # -- campaigns ---------------------------------------------------------------------------

    async def on_campaign_status(self, event: CampaignStatusChanged) -> None:
        campaign = event.campaign
        name = f"«{_clip(campaign.name, 80)}» (#{campaign.id})"
        paused_key = f"campaign:{campaign.id}:{AlertKind.CAMPAIGN_PAUSED.value}"

        def alert(kind: AlertKind, detail: str, *, one_shot: bool = True) -> NewAlert:
            key = f"campaign:{campaign.id}:{kind.value}"
            return NewAlert(
                campaign.client_id, campaign.session_id, kind.value, key, detail, one_shot
            )

        status, reason = campaign.status, event.reason or ""
        if status is CampaignStatus.RUNNING:
            resumed = await self._alerts.resolve(paused_key, text=name)
            if resumed is None and event.old in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
                await self._alerts.fire(alert(AlertKind.CAMPAIGN_STARTED, name))
        elif status is CampaignStatus.PAUSED and reason.startswith(_AUTO_PAUSE):
            detail = f"{name}: {_clip(reason.removeprefix('auto:').strip(), 200)}"
            await self._alerts.fire(alert(AlertKind.CAMPAIGN_PAUSED, detail, one_shot=False))
        elif status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            await self._alerts.resolve(paused_key, quiet=True)
            if status is CampaignStatus.COMPLETED:
                try:
                    counts = await self._campaigns.counts(campaign.id)
                except StorageUnavailable:
                    counts = {}  # the alert without its figures rather than none
                figures = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()) if n)
                detail = f"{name} ({figures})" if figures else name
                await self._alerts.fire(alert(AlertKind.CAMPAIGN_FINISHED, detail))

    async def on_campaign_recovered(self, event: CampaignRecovered) -> None:
        campaign = event.campaign
        detail = f"«{_clip(campaign.name, 80)}» (#{campaign.id}): {event.unknown}"
        # Each recovery is other sends to check (a restart after another): told each time,
        # with its own count, never folded into the last one.
        key = f"campaign:{campaign.id}:unknown:{self._clock.now():%Y%m%dT%H%M%S.%f}"
        new = NewAlert(
            campaign.client_id,
            campaign.session_id,
            AlertKind.CAMPAIGN_UNKNOWN.value,
            key,
            detail,
            one_shot=True,
        )
        await self._alerts.fire(new)

    async def on_worker_failed(self, event: NumberWorkerFailed) -> None:
        """A number's campaigns stalled (grouped per number: each failure bumps one alert)."""
        key = f"campaigns:{event.session_id}"
        kind = AlertKind.CAMPAIGNS_STALLED.value
        detail = _clip(event.detail, 200)
        await self._alerts.fire(NewAlert(event.client_id, event.session_id, kind, key, detail))

    # -- the engine itself -------------------------------------------------------------------

    async def on_spool_failed(self, event: InboundSpoolFailed) -> None:
        detail = _clip(event.detail, 200)
        new = NewAlert(None, None, AlertKind.SPOOL_FAILED.value, "spool", detail, one_shot=True)
        await self._alerts.fire(new)

    async def on_worker_lost(self, event: WorkerLost) -> None:
        """A worker's numbers were taken over without a hand-over: told once per lost worker
        (one-shot alerts are deduplicated), however many rounds or workers took them."""
        detail = _clip(f"{event.lost} → {event.taken_by}: {', '.join(event.sessions)}", 300)
        key = f"worker_lost:{event.lost}"
        new = NewAlert(None, None, AlertKind.WORKER_LOST.value, key, detail, one_shot=True)
        await self._alerts.fire(new)


class AlertRepeats:
    """Repeats, every `repeat_check_s`, the alerts that keep firing (`Alerts.repeat_due`).

    A part of its own so that tests drive the repeats by hand while the rules hear events.
    """

    def __init__(self, alerts: Alerts, clock: Clock) -> None:
        self._alerts = alerts
        self._clock = clock
        self._tasks = TaskOwner("alert-repeats")
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks.spawn("alert-repeats:loop", self._loop())

    async def stop(self) -> None:
        self._stopping.set()
        await self._tasks.shutdown()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            when = self._clock.now() + timedelta(seconds=self._alerts.policy.repeat_check_s)
            if await self._clock.sleep_until(when, self._stopping):
                return
            try:
                await self._alerts.repeat_due()
            except StorageError as exc:
                logger.warning("alert repeats skipped this time: %s", exc)
