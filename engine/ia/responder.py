"""One AI turn: settings + history + the new burst -> what, if anything, to send.

Nothing the contact sees comes from an error: a model failure, refusal or a reply caught by
the output guard yields the client's fallback text (or silence), and the decision says what
failed so the caller can store it and alert operators.

Images: when the client's model accepts them (`accepts_images`, `Settings.accepts_images`) and
a media store is given, the newest `MAX_IMAGES` stored photos among the messages the model sees
go with their turns as images; every other photo is its "[imagen] <caption>" marker alone.
Only the newest, because every image costs hundreds of prompt tokens or more on each reply
(budget.IMAGE_TOKENS_ESTIMATE) and inflates the request by 4/3 of its bytes in base64, while an
older photo is usually settled already: what the contact asks about is the one they just sent.
A photo that cannot be read (expired, missing, too big, an unusual format) falls back to its
marker; it never stops the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from engine.ia.budget import IMAGE_TOKENS_ESTIMATE, check_budget, estimate_prompt_tokens
from engine.ia.llm import AIError, AIRefused, ImagePart, LLMClient
from engine.ia.prompts import build_turns, is_safe_reply, join_burst, visible_messages
from storage.records import AISettings, Direction, MediaState, Message

logger = logging.getLogger(__name__)


MAX_IMAGES = 2
# Bigger photos are not sent: OpenAI's vision guide gives 20 MB per image (NOT verified here,
# third-party mirrors agree); WhatsApp Web sends photos re-encoded to at most 1600 px
# (WA-JS v4.6.0 src/chat/functions/sendFileMessage.ts l.353), far below this.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# The formats OpenAI's vision guide lists: PNG, JPEG, WEBP, non-animated GIF (NOT verified
# here). WhatsApp photos are JPEG.
IMAGE_MIMETYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


class MediaReader(Protocol):
    """Where stored media bytes come from (`engine.media_store.MediaStore`)."""

    async def read(self, sha256: str) -> bytes: ...


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

    def __init__(
        self,
        llm: LLMClient,
        *,
        default_model: str,
        timeout_s: float = 20.0,
        media: MediaReader | None = None,
        accepts_images: Callable[[str], bool] | None = None,
    ) -> None:
        """`media` and `accepts_images` (a model name -> whether it takes images) together
        turn images on; without either the model gets the markers only."""
        self._llm = llm
        self._default_model = default_model
        self._timeout_s = timeout_s
        self._media = media
        self._accepts_images = accepts_images

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
        model = settings.model or self._default_model
        images = await self._images(model, history, burst, settings.history_window)
        turns = build_turns(
            system_prompt=settings.system_prompt,
            business_context=settings.business_context,
            history=history,
            burst=burst,
            history_window=settings.history_window,
            images=images,
        )
        image_count = sum(len(turn.images) for turn in turns)
        budget = check_budget(
            used_today=used_tokens_today,
            daily_budget=settings.daily_token_budget,
            reply_cap=settings.max_reply_tokens,
            prompt_tokens=estimate_prompt_tokens([turn.content for turn in turns])
            + IMAGE_TOKENS_ESTIMATE * image_count,
        )
        if not budget.allowed:
            logger.info("client %s: daily token budget spent, no AI reply", settings.client_id)
            return ReplyDecision(
                None, failed=Failure.BUDGET_EXHAUSTED, detail="daily token budget spent"
            )
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

    async def _images(
        self, model: str, history: Sequence[Message], burst: Sequence[str], window: int
    ) -> dict[int, list[ImagePart]]:
        """The newest readable photos the model will see, by message id (see the module
        docstring); empty when the model takes no images or there is no media store."""
        if self._media is None or self._accepts_images is None or not self._accepts_images(model):
            return {}
        found: dict[int, list[ImagePart]] = {}
        for message in reversed(visible_messages(history, burst, window)):
            if len(found) == MAX_IMAGES:
                break
            media = message.media
            if (
                message.direction is not Direction.IN
                or media is None
                or media.kind != "image"
                or media.state is not MediaState.STORED
                or media.sha256 is None
            ):
                continue
            mimetype = (media.mimetype or "").split(";", 1)[0].strip().lower()
            if mimetype not in IMAGE_MIMETYPES:
                continue
            if media.size_bytes is not None and media.size_bytes > MAX_IMAGE_BYTES:
                continue
            try:
                data = await self._media.read(media.sha256)
            except Exception as exc:  # a photo never stops the reply
                logger.warning(
                    "photo of message %s not readable (%s): marker only", message.id, exc
                )
                continue
            if len(data) > MAX_IMAGE_BYTES:
                continue
            found[message.id] = [ImagePart(data, mimetype)]
        return found

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
