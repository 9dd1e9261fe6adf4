"""The ports to the models: chat turns in, one completion out; audio in, a transcript out.

Everything in engine/ talks to `LLMClient` and `Transcriber`; only `engine.ia.openai_client`
knows the SDK. Both raise only our own `AIError`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ImagePart:
    """An image the contact sent, as bytes: the client sends it as a base64 data URL."""

    data: bytes
    mimetype: str


@dataclass(frozen=True)
class ChatTurn:
    """One message of the conversation sent to the model.

    Only user turns may carry `images`: the chat completions API takes image parts only in
    user messages (openai SDK 3.57.0 `types/chat/chat_completion_user_message_param.py` l.19;
    system and assistant messages take text parts only,
    `chat_completion_system_message_param.py` l.20, `chat_completion_assistant_message_param.py`
    l.25).
    """

    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()

    def __post_init__(self) -> None:
        if self.images and self.role != "user":
            raise ValueError(f"a {self.role} turn cannot carry images; only user turns can")


@dataclass(frozen=True)
class Completion:
    """The model's answer and what it cost, in tokens."""

    text: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Tokens to charge to the client's daily budget."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Transcript:
    """What a voice note or audio said, and what it cost.

    `tokens` is what to charge to the client's daily budget; `seconds` is the audio length
    when the server bills by duration (whisper-1), else None.
    """

    text: str
    tokens: int
    seconds: float | None = None


class AIError(Exception):
    """The model gave no usable answer; `tokens_used` still counts against the budget."""

    kind = "error"

    def __init__(self, message: str, *, tokens_used: int = 0) -> None:
        super().__init__(message)
        self.tokens_used = tokens_used


class AIUnavailable(AIError):
    """Timeout, connection failure, 5xx, rate limit after retries, or a rejected request."""

    kind = "unavailable"


class AIRefused(AIError):
    """The model answered but refused, was content-filtered, or said nothing."""

    kind = "refused"


class LLMClient(Protocol):
    """A chat model. Implementations raise only `AIError` subclasses."""

    async def complete(
        self,
        turns: Sequence[ChatTurn],
        *,
        model: str,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        """Answer `turns` with at most `max_tokens`; each attempt is bounded by `timeout_s`."""
        ...


@runtime_checkable
class Transcriber(Protocol):
    """A speech-to-text model. Implementations raise only `AIError` subclasses."""

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
        """The text of the audio in `data`; `filename`'s extension and `mimetype` name its
        format; `language` (ISO-639-1) helps the model when known."""
        ...
