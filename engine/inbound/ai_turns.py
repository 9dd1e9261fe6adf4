"""AI replies: a burst of messages in one chat waits `debounce_s`, then gets one model turn.

Before sending, the chat is checked again: a human who wrote from the business phone or an
operator who took over in the meantime silences the reply. Failures reach operators as
`AIFailed`, never the contact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.events import AIFailed, EventBus, SessionRef
from engine.ia.llm import LLMClient
from engine.ia.prompts import typing_delay_ms
from engine.ia.responder import Failure, Responder
from engine.inbound.outbound import Outbound
from engine.tasks import TaskOwner
from storage.db import Database
from storage.records import AICall, Client, Origin
from storage.repos import AICallRepo, AISettingsRepo, ClientRepo, ContactRepo, MessageRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatKey:
    session_id: int
    contact_id: int


@dataclass
class _Burst:
    ref: SessionRef
    client: Client
    chat_id: str
    texts: list[str] = field(default_factory=list)
    timer: asyncio.Task[None] | None = None


class AIReplies:
    """Debounces bursts per chat and runs one model turn per burst."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        outbound: Outbound,
        llm: LLMClient | None,
        default_model: str,
        typing_scale: float,
        timeout_s: float,
        clock: Callable[[], datetime],
        tasks: TaskOwner,
    ) -> None:
        self._bus = bus
        self._outbound = outbound
        self._llm = llm
        self._default_model = default_model
        self._typing_scale = typing_scale
        self._timeout_s = timeout_s
        self._clock = clock
        self._tasks = tasks
        self._settings = AISettingsRepo(db)
        self._calls = AICallRepo(db)
        self._clients = ClientRepo(db)
        self._contacts = ContactRepo(db)
        self._messages = MessageRepo(db)
        self._bursts: dict[ChatKey, _Burst] = {}
        self._turns: set[asyncio.Task[None]] = set()

    def add(
        self,
        key: ChatKey,
        ref: SessionRef,
        client: Client,
        chat_id: str,
        text: str,
        debounce_s: float,
    ) -> None:
        """Add a message to the chat's burst and (re)start its quiet timer."""
        burst = self._bursts.setdefault(key, _Burst(ref, client, chat_id))
        burst.texts.append(text)
        if burst.timer is not None:
            burst.timer.cancel()
        burst.timer = self._tasks.spawn(
            f"ai-debounce:{key.session_id}/{key.contact_id}", self._fire(key, debounce_s)
        )

    def cancel(self, key: ChatKey) -> None:
        """Drop a pending burst (opt-out, hand-off, a human took over)."""
        burst = self._bursts.pop(key, None)
        if burst is not None and burst.timer is not None:
            burst.timer.cancel()

    async def wait_idle(self) -> bool:
        """Wait for pending bursts and running turns; True when there was something to wait for."""
        pending = [b.timer for b in self._bursts.values() if b.timer is not None] + list(
            self._turns
        )
        if not pending:
            return False
        await asyncio.wait(pending)
        return True

    async def _fire(self, key: ChatKey, debounce_s: float) -> None:
        await asyncio.sleep(debounce_s)
        burst = self._bursts.pop(key, None)
        if burst is None:
            return
        turn = self._tasks.spawn(
            f"ai-turn:{key.session_id}/{key.contact_id}", self._turn(key, burst)
        )
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)

    async def _turn(self, key: ChatKey, burst: _Burst) -> None:
        assert self._llm is not None
        client = burst.client
        settings = await self._settings.get(client.id)
        contact_history = await self._messages.conversation(
            key.contact_id, settings.history_window + len(burst.texts)
        )
        tz = ZoneInfo(client.timezone)
        now = self._clock()
        day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        used = await self._calls.tokens_since(client.id, day_start)
        others = [c for c in await self._clients.list() if c.id != client.id]
        forbidden = [fragment for c in others for fragment in (c.slug, c.name)]
        decision = await Responder(
            self._llm, default_model=self._default_model, timeout_s=self._timeout_s
        ).reply(
            settings,
            history=list(reversed(contact_history)),
            burst=burst.texts,
            used_tokens_today=used,
            forbidden_fragments=forbidden,
        )
        model = settings.model or self._default_model
        if decision.failed is not Failure.BUDGET_EXHAUSTED:
            await self._calls.record(
                AICall(
                    client.id,
                    key.contact_id,
                    now,
                    "reply",
                    model,
                    decision.failed is None,
                    decision.tokens_used,
                    decision.failed.value if decision.failed else None,
                    decision.detail,
                )
            )
        contact = await self._contacts.get_by_id(key.contact_id)
        if decision.failed is not None:
            await self._bus.publish(
                AIFailed(
                    burst.ref,
                    key.contact_id,
                    contact.phone,
                    decision.failed.value,
                    decision.detail,
                    fallback_sent=decision.text is not None,
                    lid=contact.lid,
                )
            )
        if decision.text is None:
            return
        paused = contact.ai_paused_until is not None and contact.ai_paused_until > self._clock()
        if paused or contact.opted_out_at is not None:
            logger.info(
                "AI reply to %s dropped: the chat was paused or opted out meanwhile", contact.label
            )
            return
        await self._outbound.send(
            client_id=client.id,
            session_id=key.session_id,
            contact_id=key.contact_id,
            chat_id=burst.chat_id,
            text=decision.text,
            origin=Origin.AI,
            typing_ms=int(typing_delay_ms(decision.text) * self._typing_scale),
        )
