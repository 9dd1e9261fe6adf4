"""Token limits: the per-reply cap and the per-client daily budget, as pure functions.

The day is the client's local day, so the budget resets at the client's midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

# Asking for fewer tokens than this gives a cut-off reply; treat the budget as spent.
MIN_USEFUL_REPLY_TOKENS = 16
_CHARS_PER_TOKEN = 4
_TOKENS_PER_TURN = 4


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
