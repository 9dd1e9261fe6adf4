"""The getUpdates connection rides out an outage itself, so polling resumes within seconds.

PTB 22 polls in `telegram.ext._utils.networkloop.network_retry_loop`: after a `TelegramError`
other than `RetryAfter`/`TimedOut` (a 502 from a proxy is a `NetworkError`) it waits
`cur_interval = 1 if cur_interval == 0 else min(30, 1.5 * cur_interval)`, so after a minute
down it waits 17 to 30 s between tries and notices Telegram is back up to 30 s late (bench row
"telegram": 21.9 s). The loop takes no cap. So the request object PTB uses for getUpdates
(`get_updates_request`) retries a network error or a 5xx answer itself, with our backoff capped
at `POLL_BACKOFF.max_s` (5 s: one try every few seconds while Telegram is down, answered within
5 s once it is back) and hands PTB only the answer, never the error. Timeouts still go to PTB,
which retries those at once, as does a `RetryAfter` (429), which PTB waits out as asked.

`patient` is switched off on stop: PTB's last getUpdates (to confirm the offset) must fail fast.
`on_reachability(False)` after the first failure, `(True)` on the first answer after failures:
for the outbox to hold while Telegram is down and resume as soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from engine.retry import Backoff

logger = logging.getLogger(__name__)

POLL_BACKOFF = Backoff(initial_s=1.0, max_s=5.0, jitter=0.2)
Reachability = Callable[[bool], None]


class PollingRequest(HTTPXRequest):
    """`HTTPXRequest` for getUpdates that waits out network errors and 5xx with `backoff`."""

    def __init__(
        self,
        *,
        backoff: Backoff = POLL_BACKOFF,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.patient = True
        self.on_reachability: Reachability | None = None
        self._backoff = backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._down_since: float | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        attempt = 0
        while True:
            try:
                code, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
            except TimedOut:
                raise  # PTB polls again at once
            except NetworkError as exc:
                if not self.patient:
                    raise
                failure = str(exc)
            else:
                if code < 500:
                    self._answered()
                    return code, payload
                if not self.patient:
                    return code, payload
                failure = f"HTTP {code}"
            delay_s = self._backoff.delay_s(attempt, self._rng)
            self._failed(failure, delay_s)
            attempt += 1
            await self._sleep(delay_s)

    def _failed(self, failure: str, delay_s: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning("telegram polling: %s; retrying every %.0f s at most", failure, delay_s)
            self._tell(False)
        else:
            logger.info("telegram polling: %s; retrying in %.1f s", failure, delay_s)

    def _answered(self) -> None:
        if self._down_since is None:
            return
        down_s = time.monotonic() - self._down_since
        self._down_since = None
        logger.warning("telegram polling: Telegram answers again after %.0f s", down_s)
        self._tell(True)

    def _tell(self, up: bool) -> None:
        if self.on_reachability is None:
            return
        try:
            self.on_reachability(up)
        except Exception:
            logger.exception("telegram: the reachability hook failed")
