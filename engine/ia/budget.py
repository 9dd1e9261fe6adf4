"""Token limits: the per-reply cap and the per-client daily budget, as pure functions.

The day is the client's local day, so the budget resets at the client's midnight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

# Asking for fewer tokens than this gives a cut-off reply; treat the budget as spent.
MIN_USEFUL_REPLY_TOKENS = 16
_CHARS_PER_TOKEN = 4
_TOKENS_PER_TURN = 4
# What one image is assumed to cost before the call, so the budget check does not wave a
# photo through on its caption's length alone. 765 is OpenAI's worked example for a
# 1024x1024 image at high detail in gpt-4o (85 base + 4 tiles x 170, developers.openai.com
# vision guide "Calculating costs"): NOT verified here, and other models (gpt-4o-mini) are
# said to report many more tokens per image. After the call the server's `usage` is what is
# charged, so this only decides whether to try.
IMAGE_TOKENS_ESTIMATE = 765
# Budget tokens charged per second of audio when a transcription server bills by duration
# (whisper-1 answers `usage: {type: "duration", seconds}`, openai SDK 3.57.0
# `types/audio/transcription.py` l.53-60) rather than by tokens. Our own rule, so that a
# duration-billed voice note still counts against the daily token budget: 10 a second is the
# audio input rate OpenAI gives for its gpt-4o audio models ("1 token per 100 ms" of user
# audio, realtime cost guide; NOT verified here). Token-billed models are charged as reported.
AUDIO_TOKENS_PER_SECOND = 10


@dataclass(frozen=True)
class BudgetCheck:
    """Whether a call may go ahead, with how many reply tokens, and what is left today."""

    allowed: bool
    max_tokens: int
    remaining_tokens: int


def local_day(now: datetime, tz_name: str) -> date:
    """The client's calendar day at `now` (timezone-aware); the key for daily usage."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(tz_name)).date()


def estimate_prompt_tokens(contents: list[str]) -> int:
    """A cheap upper-ish estimate of prompt tokens: about 4 characters a token."""
    return sum(len(text) // _CHARS_PER_TOKEN + _TOKENS_PER_TURN for text in contents)


def estimate_audio_tokens(duration_s: float | None, size_bytes: int) -> int:
    """Tokens a transcription is assumed to cost before it is made: the audio's length at
    `AUDIO_TOKENS_PER_SECOND` plus about 3 words a second of transcript. Without a duration,
    the length is guessed from the size at 16 kbit/s, about what WhatsApp voice notes use
    (Opus; NOT verified), so an unknown length errs towards longer."""
    seconds = duration_s if duration_s is not None and duration_s > 0 else size_bytes / 2_000
    return tokens_for_audio_seconds(seconds) + int(seconds * 3) + 1


def tokens_for_audio_seconds(seconds: float) -> int:
    """Budget tokens for `seconds` of audio billed by duration (rounded up)."""
    return max(0, math.ceil(seconds * AUDIO_TOKENS_PER_SECOND))


def check_budget(
    *,
    used_today: int,
    daily_budget: int,
    reply_cap: int,
    prompt_tokens: int = 0,
    min_reply_tokens: int = MIN_USEFUL_REPLY_TOKENS,
) -> BudgetCheck:
    """May a reply be generated, and with what `max_tokens`?

    The reply never asks for more than `reply_cap`, nor more than what is left today after
    the (estimated) prompt; below `min_reply_tokens` the call is not worth making. A budget
    of 0 allows nothing.
    """
    remaining = max(0, daily_budget - used_today)
    max_tokens = min(reply_cap, remaining - prompt_tokens)
    if max_tokens < max(1, min_reply_tokens):
        return BudgetCheck(False, 0, remaining)
    return BudgetCheck(True, max_tokens, remaining)
