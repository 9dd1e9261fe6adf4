"""`LLMClient` and `Transcriber` on the official openai SDK, for any OpenAI-compatible server.

The only module that imports `openai`. Every SDK exception becomes `AIUnavailable` or
`AIRefused`; the SDK's own retries are bounded and the whole call, retries and their
back-off included, runs under one deadline so a large `Retry-After` cannot hold a reply hostage.

Images go in user turns as content parts, the image as a base64 data URL (openai SDK 3.57.0
`types/chat/chat_completion_content_part_image_param.py` l.10-19: "Either a URL of the image or
the base64 encoded image data"). Audio goes to `audio.transcriptions.create` as a
`(filename, bytes, content type)` tuple (`_types.py` FileTypes), because the server identifies
the format by "an extension-bearing filename and an appropriate content type"
(`resources/audio/transcriptions.py` l.214-217); bare bytes would be named "upload".
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from typing import Literal

import openai
from openai.types.audio import Transcription
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionAssistantMessageParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartParam,
    ChatCompletionContentPartTextParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from engine.ia.budget import IMAGE_TOKENS_ESTIMATE, tokens_for_audio_seconds
from engine.ia.llm import AIRefused, AIUnavailable, ChatTurn, Completion, ImagePart, Transcript
from engine.lifecycle import TwoPhase

logger = logging.getLogger(__name__)

TokenParam = Literal["max_tokens", "max_completion_tokens"]
_REFUSAL_CODES = frozenset({"content_filter", "content_policy_violation"})


def data_url(image: ImagePart) -> str:
    """The image as a `data:<mime>;base64,...` URL, the inline form the API takes."""
    return f"data:{image.mimetype};base64,{base64.b64encode(image.data).decode('ascii')}"


def _user_content(turn: ChatTurn) -> str | list[ChatCompletionContentPartParam]:
    """Plain text, or the text part then one image_url part per image
    (`chat_completion_content_part_param.py` l.60-64 is the union of parts)."""
    if not turn.images:
        return turn.content
    parts: list[ChatCompletionContentPartParam] = []
    if turn.content:
        parts.append(ChatCompletionContentPartTextParam(type="text", text=turn.content))
    for image in turn.images:
        parts.append(
            ChatCompletionContentPartImageParam(
                type="image_url", image_url={"url": data_url(image)}
            )
        )
    return parts


def _to_param(turn: ChatTurn) -> ChatCompletionMessageParam:
    if turn.role == "system":
        return ChatCompletionSystemMessageParam(role="system", content=turn.content)
    if turn.role == "user":
        return ChatCompletionUserMessageParam(role="user", content=_user_content(turn))
    return ChatCompletionAssistantMessageParam(role="assistant", content=turn.content)


def _estimate_tokens(text: str) -> int:
    """Rough count (4 characters a token) for servers that omit `usage`."""
    return max(1, len(text) // 4) if text else 0


def _estimate_turn(turn: ChatTurn) -> int:
    return _estimate_tokens(turn.content) + IMAGE_TOKENS_ESTIMATE * len(turn.images)


def _to_transcript(response: Transcription) -> Transcript:
    """Text and what to charge: the tokens the server billed, or its seconds converted.

    `usage` is `UsageTokens` (gpt-4o transcribe models) or `UsageDuration` (whisper-1), a union
    on `type` (`types/audio/transcription.py` l.34-63). Tokens are charged as they are;
    seconds become tokens by `budget.tokens_for_audio_seconds` plus the transcript's text;
    with no usage at all only the transcript's text is counted.
    """
    text = response.text.strip()
    usage = response.usage
    if usage is None:
        return Transcript(text, _estimate_tokens(text))
    if usage.type == "tokens":
        return Transcript(text, usage.total_tokens)
    seconds = float(usage.seconds)
    return Transcript(text, tokens_for_audio_seconds(seconds) + _estimate_tokens(text), seconds)


def _to_completion(response: ChatCompletion, turns: Sequence[ChatTurn]) -> Completion:
    """Turn a response into a `Completion`, or raise `AIRefused` if it carries no answer."""
    usage = response.usage
    if usage is not None:
        prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
    else:
        prompt_tokens = sum(_estimate_turn(turn) for turn in turns)
        completion_tokens = 0
    if not response.choices:
        raise AIRefused("the model returned no choices", tokens_used=prompt_tokens)
    choice = response.choices[0]
    text = (choice.message.content or "").strip()
    if usage is None:
        completion_tokens = _estimate_tokens(text)
    spent = prompt_tokens + completion_tokens
    if choice.message.refusal:
        raise AIRefused("the model refused to answer", tokens_used=spent)
    if choice.finish_reason == "content_filter":
        raise AIRefused("the answer was blocked by the content filter", tokens_used=spent)
    if not text:
        raise AIRefused("the model returned an empty answer", tokens_used=spent)
    return Completion(text, prompt_tokens, completion_tokens)


def _map_error(exc: openai.OpenAIError) -> AIUnavailable | AIRefused:
    """Classify an SDK exception; messages name the cause, never the prompt."""
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return AIRefused("the answer was blocked by the content filter")
    if isinstance(exc, openai.APITimeoutError):
        return AIUnavailable("the model did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return AIUnavailable("could not connect to the model server")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 400 and exc.code in _REFUSAL_CODES:
            return AIRefused("the request was rejected by the content filter")
        return AIUnavailable(f"the model server answered HTTP {exc.status_code}")
    return AIUnavailable(f"model error: {type(exc).__name__}")


class OpenAIClient(TwoPhase):
    """Chat completions over `openai.AsyncOpenAI`; close it with `aclose()` or `async with`.

    `max_retries` is the SDK's retry count for timeouts, connection errors, 408/409/429 and
    5xx; `retry_slack_s` is the back-off allowance added to the overall deadline of a call.
    `token_param` picks the request field for the reply cap: OpenAI's current models want
    `max_completion_tokens`; some compatible servers only know `max_tokens`.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        max_retries: int = 1,
        retry_slack_s: float = 3.0,
        token_param: TokenParam = "max_completion_tokens",
    ) -> None:
        self._max_retries = max_retries
        self._retry_slack_s = retry_slack_s
        self._token_param: TokenParam = token_param
        self._sdk = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=max_retries,
        )

    async def complete(
        self,
        turns: Sequence[ChatTurn],
        *,
        model: str,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        """Ask the model once (plus the SDK's bounded retries); raise only `AIError`s."""
        deadline_s = timeout_s * (self._max_retries + 1) + self._retry_slack_s
        messages = [_to_param(turn) for turn in turns]
        try:
            async with asyncio.timeout(deadline_s):
                if self._token_param == "max_tokens":
                    response = await self._sdk.chat.completions.create(
                        model=model, messages=messages, max_tokens=max_tokens, timeout=timeout_s
                    )
                else:
                    response = await self._sdk.chat.completions.create(
                        model=model,
                        messages=messages,
                        max_completion_tokens=max_tokens,
                        timeout=timeout_s,
                    )
        except TimeoutError as exc:
            logger.warning(
                "model %s: no answer within %.1f s (retries included)", model, deadline_s
            )
            raise AIUnavailable("the model did not answer in time") from exc
        except openai.OpenAIError as exc:
            mapped = _map_error(exc)
            logger.warning("model %s: %s (%s)", model, mapped, type(exc).__name__)
            raise mapped from exc
        try:
            # The SDK does not validate bodies: a broken server can hand back a str or a
            # ChatCompletion with fields missing.
            if not isinstance(response, ChatCompletion):
                raise TypeError(f"got {type(response).__name__}")
            completion = _to_completion(response, turns)
        except AIRefused as exc:
            logger.warning("model %s: %s", model, exc)
            raise
        except (AttributeError, TypeError, ValueError) as exc:
            logger.warning("model %s: malformed answer (%s)", model, exc)
            raise AIUnavailable("the model server sent a malformed answer") from exc
        logger.debug("model %s: %d tokens", model, completion.total_tokens)
        return completion

    async def transcribe(
        self,
        data: bytes,
        *,
        filename: str,
        mimetype: str,
        model: str,
        timeout_s: float,
        language: str | None = None,
    ) -> Transcript:
        """Transcribe `data` once (plus the SDK's bounded retries); raise only `AIError`s.

        The default `json` response format is the only one the gpt-4o transcribe models take
        (`resources/audio/transcriptions.py` l.273-277), so none is sent.
        """
        deadline_s = timeout_s * (self._max_retries + 1) + self._retry_slack_s
        try:
            async with asyncio.timeout(deadline_s):
                response = await self._sdk.audio.transcriptions.create(
                    model=model,
                    file=(filename, data, mimetype),
                    language=language if language else openai.omit,
                    timeout=timeout_s,
                )
        except TimeoutError as exc:
            logger.warning(
                "transcription %s: no answer within %.1f s (retries included)", model, deadline_s
            )
            raise AIUnavailable("the transcription model did not answer in time") from exc
        except openai.OpenAIError as exc:
            mapped = _map_error(exc)
            logger.warning("transcription %s: %s (%s)", model, mapped, type(exc).__name__)
            raise mapped from exc
        try:
            # As for chat: the SDK does not validate bodies.
            if not isinstance(response, Transcription) or not isinstance(response.text, str):
                raise TypeError(f"got {type(response).__name__}")
            transcript = _to_transcript(response)
        except (AttributeError, TypeError, ValueError) as exc:
            logger.warning("transcription %s: malformed answer (%s)", model, exc)
            raise AIUnavailable("the transcription server sent a malformed answer") from exc
        logger.debug("transcription %s: %d tokens", model, transcript.tokens)
        return transcript

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._sdk.close()

    async def shutdown(self) -> None:
        await self.aclose()
