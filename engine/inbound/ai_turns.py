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
from zoneinfo import ZoneInfo

from engine.clock import Clock
from engine.events import AIFailed, EventBus, SessionRef
from engine.ia.llm import LLMClient
from engine.ia.prompts import typing_delay_ms
from engine.ia.responder import Failure, MediaReader, Responder
from engine.inbound.outbound import Outbound, ReplyTo
from engine.tasks import TaskOwner
from storage.db import Database
from storage.records import AICall, Client, Origin
from storage.repos import ContactRepo, InboundRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatKey:
    session_id: int
    contact_id: int


@dataclass
class _Burst:
    ref: SessionRef
    client: Client
    to: ReplyTo
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
        clock: Clock,
        *,
        media: MediaReader | None = None,
        accepts_images: Callable[[str], bool] | None = None,
    ) -> None:
        """`media` (the media store) and `accepts_images` (settings' vision model check)
        together let the newest photos reach a model that takes images."""
        self._media = media
        self._accepts_images = accepts_images
        self._bus = bus
        self._outbound = outbound
        self._llm = llm
        self._default_model = default_model
        self._typing_scale = typing_scale
        self._timeout_s = timeout_s
        self._clock = clock
        self._tasks = TaskOwner("ai-replies")
        self._inbound = InboundRepo(db)
        self._contacts = ContactRepo(db)
        self._bursts: dict[ChatKey, _Burst] = {}
        self._turns: set[asyncio.Task[None]] = set()

    def add(
        self,
        key: ChatKey,
        ref: SessionRef,
        client: Client,
        to: ReplyTo,
        text: str,
        debounce_s: float,
    ) -> None:
        """Add a message to the chat's burst and (re)start its quiet timer; the turn's reply
        goes `to` that chat."""
        burst = self._bursts.setdefault(key, _Burst(ref, client, to))
        burst.texts.append(text)
        if burst.timer is not None:
            burst.timer.cancel()
        burst.timer = self._tasks.spawn(
            f"ai-debounce:{key.session_id}/{key.contact_id}", self._fire(key, debounce_s)
        )

    async def stop(self) -> None:
        """Cancel pending bursts and running turns (the listener stops them with its lanes)."""
        await self._tasks.shutdown(grace_s=0)

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
        tz = ZoneInfo(client.timezone)
        now = self._clock.now()
        day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        # One read: settings, the chat's history and today's tokens (the budget's use).
        context = await self._inbound.turn_context(
            client.id, key.contact_id, extra=len(burst.texts), since=day_start
        )
        settings = context.config.settings_of(client.id)
        forbidden = [
            fragment for c in context.config.others(client.id) for fragment in (c.slug, c.name)
        ]
        decision = await Responder(
            self._llm,
            default_model=self._default_model,
            timeout_s=self._timeout_s,
            media=self._media,
            accepts_images=self._accepts_images,
        ).reply(
            settings,
            history=list(reversed(context.history)),
            burst=burst.texts,
            used_tokens_today=context.tokens_today,
            forbidden_fragments=forbidden,
        )
        model = settings.model or self._default_model
        call = AICall(
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
        # The call's record and the contact as it is now (paused or opted out meanwhile?).
        if decision.failed is not Failure.BUDGET_EXHAUSTED:
            contact = await self._inbound.record_call(call, key.contact_id)
        else:
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
        paused = contact.ai_paused_until is not None and contact.ai_paused_until > self._clock.now()
        if paused or contact.opted_out_at is not None:
            logger.info(
                "AI reply to %s dropped: the chat was paused or opted out meanwhile", contact.label
            )
            return
        typing_ms = int(typing_delay_ms(decision.text) * self._typing_scale)
        await self._outbound.reply(burst.to, decision.text, Origin.AI, typing_ms=typing_ms)
