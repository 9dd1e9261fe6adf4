"""Pending confirmations of destructive commands: bound to the proposer, expiring, single use."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.commands.base import Command, CommandRequest, Proposal
from engine.clock import Clock


class ConfirmOutcome(StrEnum):
    """What became of a confirm or cancel press; adapters use it to keep or drop the buttons."""

    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    NOT_YOURS = "not_yours"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    DENIED = "denied"


@dataclass(frozen=True)
class Pending:
    token: str
    command: Command
    request: CommandRequest
    proposal: Proposal
    expires_at: datetime

    @property
    def actor(self) -> str:
        return self.request.actor


class PendingConfirmations:
    """In memory on purpose: after a restart a proposal is gone and must be made again.

    Expired entries are kept for one more `ttl_s` so a late press hears "expired" rather than
    "unknown", then forgotten.
    """

    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._pending: dict[str, Pending] = {}

    def add(self, command: Command, request: CommandRequest, proposal: Proposal) -> Pending:
        self._forget_old()
        token = secrets.token_urlsafe(12)
        expires_at = self._clock.now() + timedelta(seconds=self.ttl_s)
        pending = Pending(token, command, request, proposal, expires_at)
        self._pending[token] = pending
        return pending

    def peek(self, token: str) -> Pending | None:
        return self._pending.get(token)

    def is_expired(self, pending: Pending) -> bool:
        return self._clock.now() >= pending.expires_at

    def take(self, token: str) -> Pending | None:
        """Remove and return: whoever takes it first runs it, nobody runs it twice."""
        return self._pending.pop(token, None)

    def __len__(self) -> int:
        return len(self._pending)

    def _forget_old(self) -> None:
        horizon = self._clock.now() - timedelta(seconds=self.ttl_s)
        for token in [t for t, p in self._pending.items() if p.expires_at <= horizon]:
            del self._pending[token]
