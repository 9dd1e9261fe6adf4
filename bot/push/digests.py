"""Conversation digests for operators: the text, the chart, the schedule and the delivery.

Figures come from engine.digests; this module writes them in each recipient's language,
adds a PNG of messages per day, and sends the result through the outbox to the chats that
receive the client's alerts (kind `digest`), on a cron schedule in the client's own zone.
A scheduled digest covers the time since the previous one, whose end is kept in `digest_runs`,
so a digest that fell due while no bot ran (a restart, a hand-over to the standby) within
`MISFIRE_GRACE_S` is sent when the next one starts, from where the last one ended.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.admin_channels import AdminChannels
from bot.push.alerts import AlertKind
from bot.push.channel import Outgoing
from bot.push.chart import bar_chart_png
from bot.push.media_lines import media_line
from bot.texts import Language, pick_language, t
from engine.clock import Clock
from engine.digests import ConversationDigest, DigestBuilder, DigestData
from engine.timers import Timers
from storage.db import Database
from storage.records import Client, Contact, Direction, Message
from storage.repos import ClientRepo
from storage.repos.alert_subscriptions import AlertSubscriptionRepo
from storage.repos.digest_runs import DigestRunRepo

logger = logging.getLogger(__name__)

_BODY_CHARS = 200
MISFIRE_GRACE_S = 3600.0  # a digest due longer ago than this (the host slept) is skipped
_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class DigestSchedule:
    """When a client's digest goes out: cron fields read in the client's zone."""

    hour: str = "9"
    minute: str = "0"
    day_of_week: str = "*"

    @classmethod
    def business_hours(cls, every_h: int = 2, first_h: int = 9, last_h: int = 19) -> DigestSchedule:
        """Every `every_h` hours from `first_h` to `last_h`, Monday to Friday."""
        return cls(hour=f"{first_h}-{last_h}/{every_h}", day_of_week="mon-fri")

    @classmethod
    def from_setting(cls, text: str) -> DigestSchedule | None:
        """`WAOPS_DIGEST_SCHEDULE`: `daily 09:00`, `business`, `business/3` or `off` (None)."""
        if text == "off":
            return None
        if text.startswith("business"):
            _, _, every = text.partition("/")
            return cls.business_hours(int(every) if every else 2)
        hour, minute = text.removeprefix("daily ").split(":")
        return cls(hour=str(int(hour)), minute=str(int(minute)))

    def trigger(self, timezone: str) -> CronTrigger:
        return CronTrigger(
            hour=self.hour, minute=self.minute, day_of_week=self.day_of_week, timezone=timezone
        )


def _contact(label: str, name: str | None) -> str:
    return f"{label} ({name})" if name else label


def _clip(text: str, limit: int = _BODY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_line(message: Message, zone: ZoneInfo, lang: Language) -> str:
    arrow = "←" if message.direction is Direction.IN else f"→ [{message.origin.value}]"
    body = _clip(shown_body(message, lang))
    return f"{message.sent_at.astimezone(zone):%d/%m %H:%M} {arrow} {body}"


def file_key(label: str) -> str:
    """A file-name part for a contact label (``+549…`` -> ``549…``, ``lid:1…`` -> ``lid-1…``)."""
    return label.lstrip("+").replace(":", "-")


def shown_body(message: Message, lang: Language) -> str:
    """The text of a message as operators read it: a file as its line (bot/push/media_lines.py),
    other kinds (a location, a contact card) with their kind before the text."""
    if message.type == "chat":
        return message.body
    line = media_line(message, lang)
    if line is not None:
        return line
    return f"[{message.type}] {message.body}".rstrip()


def _conversation_lines(c: ConversationDigest, lang: Language, zone: ZoneInfo) -> list[str]:
    flags = (("new", c.new), ("unanswered", c.unanswered), ("hot", c.hot_lead))
    tags = [t(lang, f"digest.tag.{name}") for name, on in (*flags, ("handoff", c.handoff)) if on]
    head = f"• {_contact(c.label, c.name)} ↓{c.inbound} ↑{c.outbound}"
    lines = [f"{head} [{', '.join(tags)}]" if tags else head]
    if c.summary:
        lines.append(f"  {c.summary}")
    shown = c.last if c.hot_lead or c.handoff else c.last[-1:]
    lines += [f"  {message_line(m, zone, lang)}" for m in shown]
    return lines


def digest_text(data: DigestData, lang: Language, max_conversations: int = 40) -> str:
    zone = ZoneInfo(data.client.timezone)
    lines = [
        t(
            lang,
            "digest.title",
            client=data.client.slug,
            start=f"{data.start.astimezone(zone):%d/%m %H:%M}",
            end=f"{data.end.astimezone(zone):%d/%m %H:%M}",
            zone=data.client.timezone,
        ),
        t(
            lang,
            "digest.figures",
            conversations=len(data.conversations),
            new=data.count("new"),
            unanswered=data.count("unanswered"),
            hot=data.count("hot_lead"),
            handoff=data.count("handoff"),
        ),
        t(lang, "digest.figures2", ai=data.ai_replies, opt_outs=data.opt_outs),
    ]
    if data.campaigns:
        lines += ["", t(lang, "digest.campaigns")]
        lines += [
            t(
                lang,
                "digest.campaign_line",
                name=f"«{c.name}» (#{c.campaign_id})",
                status=c.status,
                sent=c.sent,
                failed=c.failed,
                replied=c.replied,
            )
            for c in data.campaigns
        ]
    lines.append("")
    if not data.conversations:
        lines.append(t(lang, "digest.none"))
    else:
        lines.append(t(lang, "digest.conversations"))
        for conversation in data.conversations[:max_conversations]:
            lines += _conversation_lines(conversation, lang, zone)
        hidden = len(data.conversations) - max_conversations
        if hidden > 0:
            lines.append(t(lang, "digest.more", count=hidden))
    return "\n".join(lines)


def digest_chart(data: DigestData) -> bytes:
    return bar_chart_png([(f"{d.day:%d/%m}", d.inbound, d.outbound) for d in data.days])


def conversation_text(
    client: Client,
    contact: Contact,
    messages: Sequence[Message],
    lang: Language,
    summary: str | None = None,
) -> str:
    """A chat as forwarded to an operator: title, optional summary, one line per message."""
    zone = ZoneInfo(client.timezone)
    who = _contact(contact.label, contact.name)
    lines = [t(lang, "forward.title", contact=who, client=client.slug, count=len(messages))]
    if summary:
        lines.append(t(lang, "forward.summary", summary=summary))
    lines += [message_line(m, zone, lang) for m in messages]
    return "\n".join(lines)


class Digests:
    """Builds and sends digests; `start()` schedules them per client (in memory): APScheduler's
    cron trigger finds each next time, a timer on the clock waits for it and is re-armed."""

    def __init__(
        self,
        db: Database,
        router: AdminChannels,
        builder: DigestBuilder,
        clock: Clock,
        *,
        language: Language = "es",
        schedules: Mapping[str, DigestSchedule | None] | None = None,
        default_schedule: DigestSchedule | None = DigestSchedule(),
        default_period: timedelta = timedelta(hours=24),
    ) -> None:
        self.builder = builder
        self._clients = ClientRepo(db)
        self._subscriptions = AlertSubscriptionRepo(db)
        self._runs = DigestRunRepo(db)
        self._router = router
        self._clock = clock
        self._language = language
        self._schedules = dict(schedules or {})
        self._default = default_schedule
        self._default_period = default_period
        self._timers = Timers(clock)
        self._triggers: dict[str, CronTrigger] = {}
        self._client_ids: dict[str, int] = {}
        self._next_run: dict[str, datetime] = {}

    def message(self, data: DigestData, lang: Language) -> Outgoing:
        return Outgoing(digest_text(data, lang), image=digest_chart(data))

    async def send(self, client_slug: str, start: datetime, end: datetime) -> int:
        """Build the digest of [start, end) and queue it for the client's recipients."""
        data = await self.builder.build(client_slug, start, end)
        recipients = await self._subscriptions.recipients(
            data.client.id, AlertKind.DIGEST.value, self._clock.now(), self._router.needs_start
        )
        count = 0
        for recipient in recipients:
            lang = pick_language(recipient.language, default=self._language)
            count += await self._router.send(
                recipient.chat_ref,
                self.message(data, lang),
                file_caption=t(lang, "output.as_file"),
                file_name=f"digest-{client_slug}.txt",
            )
        return count

    async def send_scheduled(self, client_slug: str) -> int:
        """The scheduled digest: everything since the previous one (or the default period).
        Its end is kept once it is queued; a failure in between sends the period again next
        time rather than skipping it."""
        client_id = self._client_ids[client_slug]
        end = self._clock.now()
        last_end = await self._runs.last_end(client_id)
        start = end - self._default_period if last_end is None else last_end
        count = await self.send(client_slug, start, end)
        await self._runs.record(client_id, end)
        return count

    def schedule_of(self, client_slug: str) -> DigestSchedule | None:
        return self._schedules.get(client_slug, self._default)

    async def start(self) -> None:
        """Arm each client's next digest; one that fell due since its last one ended, while no
        bot ran, and not longer than `MISFIRE_GRACE_S` ago, goes out at once."""
        last_ends = await self._runs.last_ends()
        now = self._clock.now()
        for client in await self._clients.list():
            schedule = self.schedule_of(client.slug)
            if schedule is None:
                continue
            self._triggers[client.slug] = schedule.trigger(client.timezone)
            self._client_ids[client.slug] = client.id
            last_end = last_ends.get(client.id)
            if last_end is None:
                self._arm(client.slug, now)
            else:
                missed_after = now - timedelta(seconds=MISFIRE_GRACE_S)
                self._arm(client.slug, min(now, max(last_end + _AFTER, missed_after)))

    def next_run(self, client_slug: str) -> datetime | None:
        """When the client's next digest goes out, in the client's zone (None: not scheduled)."""
        return self._next_run.get(client_slug)

    async def stop(self) -> None:
        await self._timers.shutdown()
        self._triggers.clear()
        self._client_ids.clear()
        self._next_run.clear()

    def _arm(self, client_slug: str, after: datetime) -> None:
        """Wait for the first cron time at or after `after`."""
        due: datetime | None = self._triggers[client_slug].get_next_fire_time(None, after)
        if due is None:
            self._next_run.pop(client_slug, None)
            return
        self._next_run[client_slug] = due
        if due < self._clock.now():
            logger.info(
                "digest for %s was due at %s while no bot ran: sending it now", client_slug, due
            )
        self._timers.at(f"digest:{client_slug}", due, partial(self._job, client_slug, due))

    async def _job(self, client_slug: str, due: datetime) -> None:
        late_s = (self._clock.now() - due).total_seconds()
        try:
            if late_s <= MISFIRE_GRACE_S:
                await self.send_scheduled(client_slug)
            else:
                logger.warning("digest for %s skipped: %.0f s late", client_slug, late_s)
        except Exception:
            logger.exception("digest for %s failed", client_slug)
        # Strictly after this run, however quickly it went: a cron time never fires twice.
        self._arm(client_slug, max(self._clock.now(), due + _AFTER))
