"""Alerts as operators read them: kinds, texts in each recipient's language, buttons, and the
calls that raise, repeat and resolve them through the outbox.

The rules that decide *when* to alert live in bot/push/alert_rules.py; this module decides *what*
a notice says and *who* gets it (owners and admins of the client, subscribers, not muted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.admin_channels import AdminChannels
from bot.push.alert_backlog import DEFAULT_LIMIT, AlertBacklog, HeldChange, HeldFire
from bot.push.channel import Button, Outgoing
from bot.texts import Language, pick_language, t
from engine.clock import Clock
from storage.db import Database, StorageUnavailable
from storage.records import Alert, AlertRecipient, Content, FireResult, NewAlert, Notice
from storage.repos.alerts import AlertRepo

logger = logging.getLogger(__name__)


class AlertKind(StrEnum):
    """What an alert is about; operators may subscribe to one kind (`*` is every kind)."""

    SESSION_DOWN = "session_down"
    SESSION_FLAPPING = "session_flapping"
    SESSION_LOGGED_OUT = "session_logged_out"
    SESSION_BANNED = "session_banned"
    SESSION_FAILED = "session_failed"
    SESSION_CONFLICT = "session_conflict"
    QR_EXPIRED = "qr_expired"
    CAMPAIGN_STARTED = "campaign_started"
    CAMPAIGN_FINISHED = "campaign_finished"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_UNKNOWN = "campaign_unknown"
    AI_FAILING = "ai_failing"
    HANDOFF = "handoff"
    HOT_LEAD = "hot_lead"
    CAMPAIGNS_STALLED = "campaigns_stalled"
    SPOOL_FAILED = "spool_failed"
    WORKER_LOST = "worker_lost"
    DIGEST = "digest"


REPEATING = frozenset(
    {
        AlertKind.SESSION_DOWN,
        AlertKind.SESSION_FLAPPING,
        AlertKind.SESSION_LOGGED_OUT,
        AlertKind.SESSION_FAILED,
        AlertKind.CAMPAIGN_PAUSED,
    }
)
"""Kinds told again while they fire; a ban is final and AI failures repeat as they recur. A
conflict is told once: leaving WhatsApp to whoever opened it elsewhere is a valid answer."""

_PAIR_KINDS = {AlertKind.SESSION_LOGGED_OUT, AlertKind.SESSION_FAILED, AlertKind.QR_EXPIRED}
_CONTACT_KINDS = {AlertKind.HANDOFF, AlertKind.HOT_LEAD}
_MARK = {Notice.NEW: "⚠️", Notice.ESCALATED: "⚠️", Notice.REPEAT: "⏰", Notice.RESOLVED: "✅"}


@dataclass(frozen=True)
class AlertPolicy:
    """How patient and how insistent alerts are. Durations in seconds."""

    grace_s: float = 60.0
    settle_s: float | None = None
    """How long a session must stay connected before its alert resolves (default: grace_s)."""
    repeat_s: float = 1800.0
    flap_count: int = 3
    flap_window_s: float = 600.0
    ai_quiet_s: float = 900.0
    repeat_check_s: float = 60.0
    backlog_retry_s: float = 5.0
    """How often alerts held while the database is away are tried again."""
    backlog_limit: int = DEFAULT_LIMIT
    language: Language = "es"

    @property
    def settle_after_s(self) -> float:
        return self.grace_s if self.settle_s is None else self.settle_s


def contact_key(kind: AlertKind, client_id: int, phone: str) -> str:
    """Dedupe key of a contact's alert; it ends with the phone (used for the forward button)."""
    return f"{kind.value}:{client_id}:{phone}"


def session_key(session_id: int) -> str:
    return f"session:{session_id}"


def _where(alert: Alert) -> str:
    if alert.client_slug and alert.session_name:
        return f"{alert.client_slug}/{alert.session_name}"
    return alert.client_slug or "waops"


def _local(alert: Alert, moment: datetime) -> str:
    """A time in the client's zone; with the date when the alert spans more than one day."""
    zone = ZoneInfo(alert.client_timezone) if alert.client_timezone else None
    local, last = moment.astimezone(zone), alert.last_at.astimezone(zone)
    return f"{local:%H:%M}" if local.date() == last.date() else f"{local:%d/%m %H:%M}"


def _duration(lang: Language, seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return t(lang, "alerts.minutes", n=minutes)
    return t(lang, "alerts.hours", n=round(minutes / 60))


def alert_text(alert: Alert, notice: Notice, lang: Language) -> str:
    """The notice in one language: what, where, and for repeats since when and how often."""
    key = f"alerts.{alert.kind}.resolved" if notice is Notice.RESOLVED else f"alerts.{alert.kind}"
    body = t(lang, key, where=_where(alert), detail=alert.text, count=alert.occurrences)
    text = f"{_MARK[notice]} {body}"
    if notice is Notice.REPEAT:
        since = _local(alert, alert.first_at)
        text += "\n" + t(lang, "alerts.still", since=since, count=alert.occurrences)
    elif notice is Notice.RESOLVED and alert.resolved_at is not None:
        lasted = (alert.resolved_at - alert.first_at).total_seconds()
        text += "\n" + t(lang, "alerts.lasted", duration=_duration(lang, lasted))
    return text


def alert_buttons(alert: Alert, notice: Notice, lang: Language) -> tuple[Button, ...]:
    """A pairing action for sessions that need a QR, a take-over for one open elsewhere, a
    forward action for contacts."""
    if notice is Notice.RESOLVED or not alert.client_slug:
        return ()
    if alert.kind in _PAIR_KINDS and alert.session_name:
        command = f"/pair {alert.client_slug} {alert.session_name}"
        return (Button(t(lang, "alerts.button.pair"), command),)
    if alert.kind == AlertKind.SESSION_CONFLICT and alert.session_name:
        command = f"/usehere {alert.client_slug} {alert.session_name}"  # it asks to confirm
        return (Button(t(lang, "alerts.button.usehere"), command),)
    if alert.kind in _CONTACT_KINDS:
        phone = alert.dedupe_key.rsplit(":", 1)[-1]
        command = f"/forward {alert.client_slug} {phone}"
        return (Button(t(lang, "alerts.button.forward"), command),)
    return ()


class Alerts:
    """Raises, repeats and resolves alerts; their notices go to the outbox in one transaction.

    While the database is away, a raise or resolve is held in memory (`AlertBacklog`) and
    written, in order, by `flush()` once it answers; `on_held` is told so that someone retries.
    """

    def __init__(
        self, db: Database, router: AdminChannels, policy: AlertPolicy, clock: Clock
    ) -> None:
        self.repo = AlertRepo(db, router.needs_start)
        self._router = router
        self.policy = policy
        self._clock = clock
        self._backlog = AlertBacklog(policy.backlog_limit)
        self._flushing = asyncio.Lock()
        self.on_held: Callable[[], None] = lambda: None

    @property
    def held(self) -> int:
        """Changes waiting for the database."""
        return len(self._backlog)

    def render(self, alert: Alert, notice: Notice, recipient: AlertRecipient) -> Sequence[Content]:
        lang = pick_language(recipient.language, default=self.policy.language)
        message = Outgoing(
            alert_text(alert, notice, lang), buttons=alert_buttons(alert, notice, lang)
        )
        return self._router.pack(
            recipient.chat_ref, message, file_caption=t(lang, "output.as_file")
        )

    async def fire(self, new: NewAlert, *, escalate: bool = True) -> FireResult | None:
        """Raise `new` (see `AlertRepo.fire`); None when the database is away and it is held."""
        now = self._clock.now()
        if await self._behind_backlog():
            try:
                return await self._fire(new, escalate, now)
            except StorageUnavailable as exc:
                logger.warning("alert %s held until the database answers: %s", new.dedupe_key, exc)
        self._backlog.fire(new, escalate, now)
        self.on_held()
        return None

    async def _fire(self, new: NewAlert, escalate: bool, now: datetime) -> FireResult:
        result = await self.repo.fire(
            new, now, repeat_s=self.policy.repeat_s, render=self.render, escalate=escalate
        )
        if result.deliveries:
            self._router.poke()
        logger.info("alert %s %s: %s", new.dedupe_key, result.notice or "counted", new.kind)
        return result

    async def resolve(
        self, dedupe_key: str, *, quiet: bool = False, text: str | None = None
    ) -> Alert | None:
        """End the alert firing under `dedupe_key`, telling whoever heard of it unless `quiet`;
        `text` replaces its detail for the resolved notice. None when nothing was firing, or
        when the database is away (the resolve is held)."""
        now = self._clock.now()
        if await self._behind_backlog():
            try:
                return await self._resolve(dedupe_key, quiet, text, now)
            except StorageUnavailable as exc:
                logger.warning("resolve of %s held until the database answers: %s", dedupe_key, exc)
        self._backlog.resolve(dedupe_key, quiet, text, now)
        self.on_held()
        return None

    async def _resolve(
        self, dedupe_key: str, quiet: bool, text: str | None, now: datetime
    ) -> Alert | None:
        render = self.render if not quiet else _render_nothing
        alert = await self.repo.resolve(dedupe_key, now, render=render, text=text)
        if alert is not None:
            logger.info("alert %s resolved", dedupe_key)
            self._router.poke()
        return alert

    async def is_firing(self, dedupe_key: str) -> bool | None:
        """Whether an alert fires under `dedupe_key`, held changes included; None when the
        database is away and nothing is held for it (not known)."""
        held = self._backlog.firing(dedupe_key)
        if held is not None:
            return held
        try:
            return await self.repo.is_firing(dedupe_key)
        except StorageUnavailable:
            return None

    async def _behind_backlog(self) -> bool:
        """True when nothing is held (any more): a new change may go straight to the database.
        While a flush is under way the change is held at once: that flush takes it in turn."""
        if not self._backlog:
            return True
        return not self._flushing.locked() and await self.flush()

    async def flush(self) -> bool:
        """Write what was held while the database was away, oldest first; True when nothing is
        left. A change that fails for another reason than the outage is dropped (and logged),
        so it cannot hold the others back."""
        async with self._flushing:
            while (change := self._backlog.first()) is not None:
                try:
                    await self._store(change)
                except StorageUnavailable as exc:
                    logger.info("%d held alert changes wait: %s", len(self._backlog), exc)
                    return False
                except Exception:
                    logger.exception("held alert change of %s dropped", change.dedupe_key)
                self._backlog.done(change)
            return True

    async def _store(self, change: HeldChange) -> None:
        if isinstance(change, HeldFire):
            while (occurrence := change.next_occurrence()) is not None:
                new, at = occurrence
                await self._fire(new, change.escalate, at)
                change.stored += 1
        else:
            await self._resolve(change.dedupe_key, change.quiet, change.text, change.at)

    async def repeat_due(self) -> int:
        count = await self.repo.repeat_due(
            self._clock.now(),
            repeat_s=self.policy.repeat_s,
            kinds=[k.value for k in REPEATING],
            render=self.render,
        )
        if count:
            self._router.poke()
        return count


def _render_nothing(alert: Alert, notice: Notice, recipient: AlertRecipient) -> Sequence[Content]:
    return ()
