"""Polling comes back within seconds of Telegram answering again (real PTB, fake Bot API)."""

from __future__ import annotations

from bot.commands.assembly import build_registry
from bot.commands.dispatcher import Dispatcher
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.limiter import TelegramRateLimiter
from bot.telegram.polling import POLL_BACKOFF
from engine.directory import Directory
from storage.db import Database
from storage.repos import AuditRepo, OperatorRepo
from tests.bot.telegram.world import OWNER, seed
from tests.support.clocks import SteppingClock
from tests.support.fakes.telegram_server import FakeTelegram

OUTAGE_POLLS = 8
"""PTB alone would wait 1, 1.5, 2.25, ... 17 s between these: 49 s in all, and 30 s at most
between two tries after that (networkloop.py, `min(30, 1.5 * cur_interval)`)."""


async def test_polling_retries_an_outage_at_a_capped_interval(db: Database) -> None:
    await seed(db)
    audit = AuditRepo(db)
    dispatcher = Dispatcher(build_registry(Directory(db), audit), OperatorRepo(db), audit)
    waits, pacing = SteppingClock(), SteppingClock()
    seen: list[bool] = []
    async with FakeTelegram() as tg:
        tg.opened_by(OWNER)
        adapter = TelegramAdapter(
            tg.token,
            dispatcher,
            base_url=tg.base_url,
            rate_limiter=TelegramRateLimiter(clock=pacing, sleep=pacing.sleep),
            poll_timeout_s=5.0,
            request_timeout_s=5.0,
            publish_commands=False,
            poll_sleep=waits.sleep,
        )
        adapter.on_reachability = seen.append
        tg.fail(OUTAGE_POLLS, methods=frozenset({"getUpdates"}))
        async with adapter:
            update_id = await tg.write(OWNER, "/whoami")
            await adapter.handled(update_id, timeout_s=5.0)
        tg.assert_no_unexpected()

    assert tg.texts(OWNER) and "tg:1" in tg.texts(OWNER)[0]
    assert len(waits.sleeps) == OUTAGE_POLLS
    assert max(waits.sleeps) <= POLL_BACKOFF.max_s
    assert seen == [False, True]
