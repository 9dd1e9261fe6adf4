"""How sessions are supervised: the timings, how a driver's life ends, and the errors the
runner raises to callers of `pair`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.retry import Backoff
from engine.whatsapp.errors import WhatsAppError


@dataclass(frozen=True)
class SessionPolicy:
    """Timings of supervision; tests shrink them, production keeps the defaults."""

    backoff: Backoff = field(default_factory=Backoff)
    max_qr_attempts: int = 6
    watchdog_interval_s: float = 30.0
    alive_timeout_s: float = 10.0
    offline_reload_s: float = 120.0
    login_timeout_s: float = 120.0
    max_start_failures: int = 5
    stop_timeout_s: float = 20.0
    reload_timeout_s: float = 120.0
    """How long a page that still answers may take to have WA-JS ready again (a self-reload
    of WhatsApp Web takes tens of seconds), and how long an operator's logout may take."""
    qr_idle_keep_s: float = 300.0
    """How long a page whose QR went idle waits for a `/pair` (a fresh QR) before it closes."""
    take_over_timeout_s: float = 60.0


class ExitKind(StrEnum):
    STOP = "stop"
    TRANSIENT = "transient"
    WAIT_PAIRING = "wait_pairing"
    CONFLICT = "conflict"
    BANNED = "banned"
    FAILED = "failed"


@dataclass(frozen=True)
class Exit:
    kind: ExitKind
    reason: str


class AlreadyPaired(WhatsAppError):
    """`pair` was asked for a session that is connected."""


class InConflict(WhatsAppError):
    """`pair` was asked for a session that is linked but open in another window."""


def describe(exc: BaseException) -> str:
    """A short reason for a state change, from a driver error or a timeout."""
    if isinstance(exc, TimeoutError):
        return "no answer"
    return str(exc) or type(exc).__name__
