"""Logging for the `waops` command: level and format from the settings (WAOPS_LOG_LEVEL,
WAOPS_LOG_FORMAT), one JSON object per line for log collectors when asked."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Literal

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NOISY = ("alembic", "aiohttp.access", "apscheduler", "httpx")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message"[, "exception"]}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class _UnparsableBody(logging.Filter):
    """PTB logs a traceback at ERROR for every non-JSON error page (a proxy's HTML 502) before
    raising; the raised error already says it ("Parsing the server response ... failed") and
    waops reports it once as the channel being unreachable, so the traceback is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


class _CancelledReset(logging.Filter):
    """SQLAlchemy's pool logs a traceback at ERROR ("Exception during reset or similar") when a
    statement is cancelled mid-way (a lease renewal's timeout after the process was stopped, a
    task cancelled at shutdown) and the connection's rollback is cancelled with it; the pool
    drops that connection and the caller hears the cancellation. One line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("sqlalchemy.pool") and isinstance(exc, asyncio.CancelledError):
            record.msg, record.args = (
                "a database connection was dropped: its statement was cancelled",
                (),
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


class _WaopsHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so that configuring again replaces it and leaves other handlers alone."""


def configure_logging(level: str = "INFO", fmt: Literal["text", "json"] = "text") -> None:
    """Log to stderr at `level` in `fmt`; the chattiest libraries at WARNING or above."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _WaopsHandler)]:
        root.removeHandler(old)
    handler = _WaopsHandler()
    handler.addFilter(_CancelledReset())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    ptb_request = logging.getLogger("telegram.request.BaseRequest")
    if not any(isinstance(f, _UnparsableBody) for f in ptb_request.filters):
        ptb_request.addFilter(_UnparsableBody())
