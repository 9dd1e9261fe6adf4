"""The log lines waops writes for what libraries report noisily."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from bot.ops.logs import _WaopsHandler, configure_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    configure_logging("INFO")
    [handler] = [h for h in root.handlers if isinstance(h, _WaopsHandler)]
    out = io.StringIO()
    handler.setStream(out)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_cancelled_connection_reset_is_one_warning_line(stream: io.StringIO) -> None:
    pool = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    pool.error("Exception during reset or similar", exc_info=_raised(asyncio.CancelledError()))
    written = stream.getvalue()
    assert "Traceback" not in written
    assert written.count("\n") == 1 and "WARNING sqlalchemy.pool" in written
    assert "statement was cancelled" in written


def test_any_other_pool_error_keeps_its_traceback(stream: io.StringIO) -> None:
    pool = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    pool.error("Exception during reset or similar", exc_info=_raised(OSError("broken pipe")))
    written = stream.getvalue()
    assert (
        "ERROR sqlalchemy.pool" in written and "Traceback" in written and "broken pipe" in written
    )
