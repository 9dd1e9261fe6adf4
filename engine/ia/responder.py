"""One AI turn: settings + history + the new burst -> what, if anything, to send.

Nothing the contact sees comes from an error: a model failure, refusal or a reply caught by
the output guard yields the client's fallback text (or silence), and the decision says what
failed so the caller can store it and alert operators.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from engine.ia.budget import check_budget, estimate_prompt_tokens
from engine.ia.llm import AIError, AIRefused, LLMClient
from engine.ia.prompts import build_turns, is_safe_reply, join_burst
from storage.records import AISettings, Message

logger = logging.getLogger(__name__)


class Failure(StrEnum):
    """Why no model reply was sent."""

    BUDGET_EXHAUSTED = "budget_exhausted"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class ReplyDecision:
    """What to send (None: stay silent), the tokens spent, and what failed, if anything.

    `detail` is for operators; it never contains the rejected model text.
    """

    text: str | None
    tokens_used: int = 0
    failed: Failure | None = None
    used_fallback: bool = False
    detail: str | None = None


class Responder:
    """Generates the reply to one burst of inbound messages for one client's chat."""

    def __init__(self, llm: LLMClient, *, default_model: str, timeout_s: float = 20.0) -> None:
        self._llm = llm
        self._default_model = default_model
        self._timeout_s = timeout_s

    async def reply(
        self,
        settings: AISettings,
        *,
        history: Sequence[Message],
        burst: Sequence[str],
        used_tokens_today: int,
        forbidden_fragments: Sequence[str] = (),
    ) -> ReplyDecision:
        """Decide the reply to `burst`; never raises for model trouble.

        `history` is this chat's stored messages (it may already include the burst);
        `forbidden_fragments` are words the reply must never contain, such as other
        clients' names and slugs.
        """
        if not settings.enabled or not join_burst(burst):
            return ReplyDecision(None)
        turns = build_turns(
            system_prompt=settings.system_prompt,
            business_context=settings.business_context,
            history=history,
            burst=burst,
            history_window=settings.history_window,
        )
        budget = check_budget(
            used_today=used_tokens_today,
            daily_budget=settings.daily_token_budget,
            reply_cap=settings.max_reply_tokens,
            prompt_tokens=estimate_prompt_tokens([turn.content for turn in turns]),
        )
        if not budget.allowed:
            logger.info("client %s: daily token budget spent, no AI reply", settings.client_id)
            return ReplyDecision(
                None, failed=Failure.BUDGET_EXHAUSTED, detail="daily token budget spent"
            )
        model = settings.model or self._default_model
        try:
            completion = await self._llm.complete(
                turns, model=model, max_tokens=budget.max_tokens, timeout_s=self._timeout_s
            )
        except AIError as exc:
            kind = Failure.REFUSED if isinstance(exc, AIRefused) else Failure.UNAVAILABLE
            return self._fallback(settings, kind, str(exc), exc.tokens_used)
        safe = is_safe_reply(
            completion.text,
            system_prompt=settings.system_prompt,
            forbidden_fragments=forbidden_fragments,
        )
        if not safe:
            return self._fallback(
                settings,
                Failure.UNSAFE,
                "reply rejected by the output guard",
                completion.total_tokens,
            )
        return ReplyDecision(completion.text, tokens_used=completion.total_tokens)

    @staticmethod
    def _fallback(
        settings: AISettings, kind: Failure, detail: str, tokens_used: int
    ) -> ReplyDecision:
        """The configured fallback text, or silence when there is none."""
        fallback = (settings.fallback_text or "").strip() or None
        logger.warning(
            "client %s: AI reply failed (%s: %s), %s",
            settings.client_id,
            kind,
            detail,
            "sending the fallback" if fallback else "staying silent",
        )
        return ReplyDecision(
            fallback,
            tokens_used=tokens_used,
            failed=kind,
            used_fallback=fallback is not None,
            detail=detail,
        )
