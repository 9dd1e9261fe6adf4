"""The figures of a conversation digest: what happened with one client in a period.

Read-only figures over messages, contacts and campaigns (storage.repos.digests), plus an
optional one-line summary per conversation from the model (engine.ia.summaries: budgeted,
recorded, cached, and rate-limited when asked for on demand). A period is [start, end); days
are counted in the client's zone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.clock import Clock
from engine.ia.llm import LLMClient
from engine.ia.summaries import SUMMARY_INTERVAL_S, Summarizer, Summary, Withheld
from engine.inbound.conversations import lookup_contact
from storage.db import Database
from storage.records import Client, Contact, Direction, Message, Origin, contact_label
from storage.repos import ClientRepo, ContactRepo, MessageRepo
from storage.repos.digests import DigestRepo

logger = logging.getLogger(__name__)

HOT_LEAD = "hot_lead"
WANTS_HUMAN = "wants_human"


@dataclass(frozen=True)
class ConversationDigest:
    """One contact who wrote in the period. `last` are its last messages of the period."""

    contact_id: int
    phone: str | None
    name: str | None
    new: bool
    unanswered: bool
    hot_lead: bool
    handoff: bool
    inbound: int
    outbound: int
    last: tuple[Message, ...]
    summary: str | None = None
    lid: str | None = None

    @property
    def label(self) -> str:
        """``+<phone>`` or ``lid:<digits>``."""
        return contact_label(self.phone, self.lid)

    @property
    def last_at(self) -> datetime:
        return self.last[-1].sent_at


@dataclass(frozen=True)
class CampaignFigures:
    campaign_id: int
    name: str
    status: str
    sent: int
    failed: int
    replied: int


@dataclass(frozen=True)
class DayCount:
    day: date
    inbound: int
    outbound: int


@dataclass(frozen=True)
class DigestData:
    client: Client
    start: datetime
    end: datetime
    conversations: tuple[ConversationDigest, ...]
    ai_replies: int
    opt_outs: int
    campaigns: tuple[CampaignFigures, ...]
    days: tuple[DayCount, ...]
    # Why some conversations have no summary, and when an on-demand request may ask again.
    summaries_withheld: Withheld | None = None
    summaries_retry_at: datetime | None = None

    def count(self, flag: str) -> int:
        """How many conversations have `flag` (new, unanswered, hot_lead, handoff) set."""
        return sum(1 for c in self.conversations if getattr(c, flag))


class DigestBuilder:
    """Builds digests and conversation extracts; `llm` (optional) adds one-line summaries."""

    def __init__(
        self,
        db: Database,
        llm: LLMClient | None = None,
        *,
        model: str = "gpt-4o-mini",
        language: str = "es",
        last_messages: int = 3,
        max_summaries: int = 20,
        summary_timeout_s: float = 20.0,
        summary_interval_s: float = SUMMARY_INTERVAL_S,
        clock: Clock | None = None,
    ) -> None:
        self._clients = ClientRepo(db)
        self._digests = DigestRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._summarizer = Summarizer(
            db,
            llm,
            model=model,
            language=language,
            timeout_s=summary_timeout_s,
            interval_s=summary_interval_s,
            clock=clock,
        )
        self._last_messages = last_messages
        self._max_summaries = max_summaries
        self.summary_interval_s = summary_interval_s

    async def build(
        self, client_slug: str, start: datetime, end: datetime, *, on_demand: bool = False
    ) -> DigestData:
        """The digest of [start, end); `on_demand` (an operator asked) rate-limits summaries."""
        client = await self._clients.get(client_slug)
        zone = ZoneInfo(client.timezone)
        messages = await self._digests.messages(client.id, start, end)
        by_contact: dict[int, list[Message]] = defaultdict(list)
        for message in messages:
            by_contact[message.contact_id].append(message)
        writers = [cid for cid, ms in by_contact.items() if any(_inbound(m) for m in ms)]
        returning = await self._digests.wrote_before(writers, start)
        contacts = await self._digests.contact_names(writers)
        conversations = []
        for contact_id in writers:
            own = by_contact[contact_id]
            contact = contacts[contact_id]
            conversations.append(
                ConversationDigest(
                    contact_id=contact_id,
                    phone=contact.phone,
                    lid=contact.lid,
                    name=contact.name,
                    new=contact_id not in returning,
                    unanswered=_inbound(own[-1]),
                    hot_lead=any(m.intent == HOT_LEAD for m in own),
                    handoff=any(m.intent == WANTS_HUMAN for m in own),
                    inbound=sum(1 for m in own if _inbound(m)),
                    outbound=sum(1 for m in own if not _inbound(m)),
                    last=tuple(own[-self._last_messages :]),
                )
            )
        conversations.sort(key=_importance)
        request = self._summarizer.request(client, "digest", on_demand=on_demand)
        summarized: list[ConversationDigest] = []
        withheld = Summary(None)
        for n, conversation in enumerate(conversations):
            if n < self._max_summaries:
                own = by_contact[conversation.contact_id]
                summary = await self._summarizer.summarize(request, own)
                withheld = withheld if summary.withheld is None else summary
                if summary.text is not None:
                    conversation = replace(conversation, summary=summary.text)
            summarized.append(conversation)
        return DigestData(
            client=client,
            start=start,
            end=end,
            conversations=tuple(summarized),
            ai_replies=sum(1 for m in messages if m.origin is Origin.AI and not _inbound(m)),
            opt_outs=await self._digests.opt_outs(client.id, start, end),
            campaigns=tuple(await self._campaigns(client.id, start, end)),
            days=tuple(_per_day(messages, start, end, zone)),
            summaries_withheld=withheld.withheld,
            summaries_retry_at=withheld.retry_at,
        )

    async def conversation(
        self, client_slug: str, phone: str, limit: int = 30
    ) -> tuple[Client, Contact, list[Message]]:
        """A contact's last `limit` messages, oldest first, for forwarding."""
        client = await self._clients.get(client_slug)
        contact = await lookup_contact(self._contacts, client, phone)
        return client, contact, list(reversed(await self._messages.conversation(contact.id, limit)))

    async def summarize(
        self, client: Client, messages: Sequence[Message], *, on_demand: bool = True
    ) -> Summary:
        """One line on what a forwarded conversation is about (`text` None without a model,
        on failure, or when withheld by the budget or the on-demand rate limit)."""
        request = self._summarizer.request(client, "forward", on_demand=on_demand)
        return await self._summarizer.summarize(request, messages)

    async def _campaigns(
        self, client_id: int, start: datetime, end: datetime
    ) -> list[CampaignFigures]:
        """Campaigns that sent, failed or got a reply in the period."""
        return [
            CampaignFigures(a.campaign_id, a.name, a.status.value, a.sent, a.failed, a.replied)
            for a in await self._digests.campaign_activity(client_id, start, end)
            if a.sent or a.failed or a.replied
        ]


def _inbound(message: Message) -> bool:
    return message.direction is Direction.IN


def _importance(conversation: ConversationDigest) -> tuple[int, float]:
    """Hot leads and hand-offs first, then unanswered, then the rest; newest first within."""
    rank = (
        0 if conversation.hot_lead or conversation.handoff else 1 if conversation.unanswered else 2
    )
    return rank, -conversation.last_at.timestamp()


def _per_day(
    messages: Sequence[Message], start: datetime, end: datetime, zone: ZoneInfo
) -> list[DayCount]:
    first, last = (
        start.astimezone(zone).date(),
        (end - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    counts: dict[date, list[int]] = {
        first + timedelta(days=n): [0, 0] for n in range((last - first).days + 1)
    }
    for message in messages:
        day = counts.setdefault(message.sent_at.astimezone(zone).date(), [0, 0])
        day[0 if _inbound(message) else 1] += 1
    return [DayCount(day, inbound, outbound) for day, (inbound, outbound) in sorted(counts.items())]
