"""Does a busy Telegram chat delay another? Ten replies queued for chat A, then one for chat B.

Real python-telegram-bot with waops' `TelegramRateLimiter` (per-chat spacing, then PTB's
`AIORateLimiter` budgets) sends to the fake Bot API on 127.0.0.1 (tests/fakes), in real time.
The baseline is chat B's answer with nothing else queued, measured in the same run; the figure
is how much later B's answer arrives when ten replies for A are ahead of it. For comparison the
same scenario runs through a limiter with one shared "next free slot" (what waops had before):
every reservation pushed the bot-wide slot forward, so B queued behind all of A.

    .venv/bin/python -m bench.telegram_fairness [--queued 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter, ExtBot

from bot.telegram.limiter import FloodRetries, Result, TelegramRateLimiter
from tests.support.fakes.telegram_server import FakeTelegram

CHAT_A, CHAT_B = 101, 202


class SharedSlotLimiter(BaseRateLimiter[FloodRetries]):
    """The earlier design, for comparison only: one bot-wide next slot shared by every chat.

    Kept here rather than imported because waops no longer has it; what the bench measures,
    `TelegramRateLimiter`, is imported. `process_request` repeats PTB's abstract signature."""

    def __init__(self, chat_interval_s: float = 1.0, overall_per_s: float = 30.0) -> None:
        self._chat_interval_s = chat_interval_s
        self._overall_s = 1.0 / overall_per_s
        self._next_by_chat: dict[str, float] = {}
        self._next_overall = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: FloodRetries | None,
    ) -> Result:
        chat = data.get("chat_id")
        if chat is not None:
            now = time.monotonic()
            slot = max(now, self._next_overall, self._next_by_chat.get(str(chat), now))
            self._next_overall = slot + self._overall_s
            self._next_by_chat[str(chat)] = slot + self._chat_interval_s
            await asyncio.sleep(slot - now)
        return await callback(*args, **kwargs)


async def _b_latency_s(
    tg: FakeTelegram, limiter: BaseRateLimiter[FloodRetries], queued: int
) -> tuple[float, float]:
    """(seconds until B's answer reached Telegram, seconds until A's last one did)."""
    bot: ExtBot[FloodRetries] = ExtBot(tg.token, base_url=tg.base_url, rate_limiter=limiter)
    async with bot:
        start = time.monotonic()
        ahead = [
            asyncio.create_task(bot.send_message(CHAT_A, f"reply {n} for A")) for n in range(queued)
        ]
        await asyncio.sleep(0)  # A's replies are queued (they reserved their slots) first
        sent_b = await bot.send_message(CHAT_B, "the answer for B")
        b_at = next(c.at for c in tg.sent("sendMessage", CHAT_B) if c.message_id == sent_b.id)
        await asyncio.gather(*ahead)
        a_last = max((c.at for c in tg.sent("sendMessage", CHAT_A)), default=start)
    return b_at - start, a_last - start


async def main(queued: int, rounds: int) -> None:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    rows: list[tuple[str, float, float]] = []
    for name, make in (
        ("TelegramRateLimiter (per chat)", TelegramRateLimiter),
        ("shared next slot (before)", SharedSlotLimiter),
    ):
        alone, loaded, a_done = [], [], []
        for _ in range(rounds):
            async with FakeTelegram() as tg:
                tg.opened_by(CHAT_A)
                tg.opened_by(CHAT_B)
                alone.append((await _b_latency_s(tg, make(), 0))[0])
            async with FakeTelegram() as tg:
                tg.opened_by(CHAT_A)
                tg.opened_by(CHAT_B)
                b_s, a_s = await _b_latency_s(tg, make(), queued)
                loaded.append(b_s)
                a_done.append(a_s)
        base = statistics.median(alone)
        rows.append((f"{name}: B alone (baseline)", base * 1000, 1.0))
        b = statistics.median(loaded)
        rows.append((f"{name}: B after {queued} queued for A", b * 1000, b / base))
        rows.append((f"{name}: A's last reply", statistics.median(a_done) * 1000, 0.0))
    print(f"{'what':<58} {'ms':>9} {'x baseline':>11}")
    for what, ms, ratio in rows:
        shown = f"{ratio:>11.1f}" if ratio else f"{'':>11}"
        print(f"{what:<58} {ms:>9.1f} {shown}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queued", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.queued, options.rounds))
