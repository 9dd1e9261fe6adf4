"""Backoff for the one retry loop of each supervised part: exponential, capped, with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (0-based): initial * factor^attempt, capped,
    with full jitter in [delay * (1 - jitter), delay] so many sessions do not retry in step."""

    initial_s: float = 1.0
    max_s: float = 300.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        base = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        low = base * (1 - self.jitter)
        return (rng or random).uniform(low, base)
