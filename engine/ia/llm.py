"""The port to a chat model: turns in, one completion out, and our own errors.

Everything in engine/ talks to `LLMClient`; only `engine.ia.openai_client` knows the SDK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatTurn:
    """One message of the conversation sent to the model."""

    role: Role
    content: str


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
