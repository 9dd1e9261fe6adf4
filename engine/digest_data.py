"""The figures of a conversation digest: what happened with one client in a period.

Read-only figures over messages, contacts and campaigns (storage.repos.digests), plus an
optional one-line summary per conversation from the model. A period is [start, end); days are
counted in the client's zone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput
from engine.ia.llm import AIError, ChatTurn, LLMClient
from engine.phones import InvalidPhone, parse_phone
from storage.db import Database
from storage.records import Client, Contact, Direction, Message, Origin
from storage.repos import ClientRepo, ContactRepo, MessageRepo
from storage.repos.digests import DigestRepo

logger = logging.getLogger(__name__)

HOT_LEAD = "hot_lead"
WANTS_HUMAN = "wants_human"


@dataclass(frozen=True)
class ConversationDigest:
    """One contact who wrote in the period. `last` are its last messages of the period."""

    contact_id: int
    phone: str
    name: str | None
    new: bool
    unanswered: bool
    hot_lead: bool
    handoff: bool
    inbound: int
    outbound: int
    last: tuple[Message, ...]
    summary: str | None = None

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
    ) -> None:
        self._clients = ClientRepo(db)
        self._digests = DigestRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._llm = llm
        self._model = model
        self._language = language
        self._last_messages = last_messages
        self._max_summaries = max_summaries
        self._timeout_s = summary_timeout_s

    async def build(self, client_slug: str, start: datetime, end: datetime) -> DigestData:
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
        summarized = [
            await self._with_summary(c, by_contact[c.contact_id]) if n < self._max_summaries else c
            for n, c in enumerate(conversations)
        ]
        return DigestData(
            client=client,
            start=start,
            end=end,
            conversations=tuple(summarized),
            ai_replies=sum(1 for m in messages if m.origin is Origin.AI and not _inbound(m)),
            opt_outs=await self._digests.opt_outs(client.id, start, end),
            campaigns=tuple(await self._campaigns(client.id, start, end)),
            days=tuple(_per_day(messages, start, end, zone)),
        )

    async def conversation(
        self, client_slug: str, phone: str, limit: int = 30
    ) -> tuple[Client, Contact, list[Message]]:
        """A contact's last `limit` messages, oldest first, for forwarding."""
        client = await self._clients.get(client_slug)
        try:
            digits = parse_phone(phone, client.region).digits
        except InvalidPhone as exc:
            raise InvalidInput(f"{phone!r} is not a phone number ({exc.reason})") from exc
        contact = await self._contacts.get(client.id, digits)
        return client, contact, list(reversed(await self._messages.conversation(contact.id, limit)))

    async def summarize(self, messages: Sequence[Message]) -> str | None:
        """One line on what the conversation is about, or None without a model or on failure."""
        if self._llm is None or not messages:
            return None
        lines = "\n".join(
            f"{'Contact' if _inbound(m) else 'Business'}: {m.body[:500]}" for m in messages[-20:]
        )
        turns = [
            ChatTurn(
                "system",
                "Summarise this WhatsApp conversation between a business and a contact in one "
                f"short line (at most 20 words), in the language with code '{self._language}'. "
                "Say what the contact wants and whether it was solved.",
            ),
            ChatTurn("user", lines),
        ]
        try:
            completion = await self._llm.complete(
                turns, model=self._model, max_tokens=80, timeout_s=self._timeout_s
            )
        except AIError as exc:
            logger.warning("digest summary skipped: %s", exc)
            return None
        line = " ".join(completion.text.split())
        return line[:300] or None

    async def _campaigns(
        self, client_id: int, start: datetime, end: datetime
    ) -> list[CampaignFigures]:
        """Campaigns that sent, failed or got a reply in the period."""
        return [
            CampaignFigures(a.campaign_id, a.name, a.status.value, a.sent, a.failed, a.replied)
            for a in await self._digests.campaign_activity(client_id, start, end)
            if a.sent or a.failed or a.replied
        ]

    async def _with_summary(
        self, conversation: ConversationDigest, messages: list[Message]
    ) -> ConversationDigest:
        summary = await self.summarize(messages)
        return conversation if summary is None else replace(conversation, summary=summary)


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
